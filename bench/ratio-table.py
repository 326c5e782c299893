#!/usr/bin/env python3
"""Prints make bench's closing table from the lines the scripts appended to $BENCH_RATIOS:
label<TAB>measured<TAB>goal, e.g. "tree --json / virsh list --all<TAB>0.62x<TAB><= 0.7x".

measured and goal are a number with a unit (x for a ratio; ms, s; KiB, MiB), the goal with its
comparison (<=, <, >=, >). "met" is yes or no when both have comparable units; "-" when the line
has no goal; "no" when the figure is not a number (a script that failed, or went missing)."""
import re
import sys

SCALE = {"x": ("ratio", 1), "": ("ratio", 1), "ms": ("time", 1e-3), "s": ("time", 1),
         "kib": ("bytes", 1024), "mib": ("bytes", 1024 ** 2), "gib": ("bytes", 1024 ** 3)}
QUANTITY = re.compile(r"^\s*(<=|>=|<|>)?\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$")


def quantity(text):
    """(comparison, kind, value in base units) or None."""
    match = QUANTITY.match(text)
    if not match or match.group(3).lower() not in SCALE:
        return None
    kind, factor = SCALE[match.group(3).lower()]
    return match.group(1), kind, float(match.group(2)) * factor


def met(measured, goal):
    have, want = quantity(measured), quantity(goal)
    if have is None:
        return "no"
    if goal.strip() in ("", "-"):
        return "-"
    if want is None or want[0] is None or have[1] != want[1]:
        return "?"
    value, limit = have[2], want[2]
    return "yes" if {"<=": value <= limit, "<": value < limit, ">=": value >= limit, ">": value > limit}[want[0]] else "no"


def main(path):
    rows = []
    with open(path) as lines:
        for line in lines:
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 3:
                rows.append((line.strip()[:60] or "(empty line)", "malformed line", "-", "no"))
                continue
            rows.append((*fields, met(fields[1], fields[2])))
    if not rows:
        print("make bench: no figures were recorded.")
        return
    header = ("figure", "measured", "goal", "met")
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(4)]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    missed = sum(1 for row in rows if row[3] in ("no", "?"))
    print(f"\n{len(rows) - missed} of {len(rows)} figures met their goal or have none; {missed} did not or could not be compared.")


if __name__ == "__main__":
    main(sys.argv[1])
