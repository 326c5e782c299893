#!/usr/bin/env python3
"""Appends one figure to $BENCH_RATIOS (default bench/work/ratios.tsv) for make bench's closing table:
the ratio of two hyperfine medians. Usage: append-ratio.py LABEL GOAL MEASURED.json[#i] BASE.json[#i]
(#i picks the i-th command of an export holding several; 0 without it)."""
import json
import os
import sys


def median(spec):
    path, _, index = spec.partition("#")
    with open(path) as f:
        return json.load(f)["results"][int(index or 0)]["median"]


label, goal, measured, base = sys.argv[1:5]
ratio = median(measured) / median(base)
target = os.environ.get("BENCH_RATIOS") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "work", "ratios.tsv")
os.makedirs(os.path.dirname(target), exist_ok=True)
with open(target, "a") as out:
    out.write(f"{label}\t{ratio:.2f}x\t{goal}\n")
