#!/usr/bin/env python3
"""Reads hyperfine JSON exports and prints each command's median and its ratio to the first."""
import json
import sys

results = []
for path in sys.argv[1:]:
    with open(path) as f:
        results += json.load(f)["results"]
base = results[0]["median"]
for r in results:
    print("  %-60s median %8.1f ms   ratio %.2f" % (r["command"][:60], r["median"] * 1000, r["median"] / base))
