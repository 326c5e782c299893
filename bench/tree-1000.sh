#!/bin/sh
# `partctl tree --json` over 1000 domains against `virsh list --all` on the same test-driver file.
# Goal (issue 9): ratio <= 0.7. Appends the figure to $BENCH_RATIOS (label, measured, goal).
set -eu
cd "$(dirname "$0")"
# The shipped profiles, also when run alone.
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
mkdir -p work
ratios=${BENCH_RATIOS:-work/ratios.tsv}
node="$(pwd)/work/node-1000.xml"
# partctl's metadata as it really is: define one domain, read it back, remove the domain.
meta=ptest-bench-meta
"$PARTCTL" define $meta --profile lpar-minimal >/dev/null
virsh -q dumpxml --inactive $meta | sed -n '/<metadata>/,/<\/metadata>/p' | sed '1d;$d' >work/metadata.xml
"$PARTCTL" remove $meta >/dev/null
python3 make-test-node.py "$node" 1000 work/metadata.xml
uri="test://$node"
echo "tree-1000: partctl tree --json vs virsh list --all, 1000 domains on $uri"
# `virsh uri` only connects: the test driver reads and parses the whole node file then, which
# every client pays; it is the floor under both.
hyperfine -N -w 3 -r 30 --export-json work/tree.json \
    "virsh -c $uri list --all" \
    "$PARTCTL --connect $uri tree --json" \
    "virsh -c $uri uri" >/dev/null
python3 median-ratio.py work/tree.json
python3 - work/tree.json "$ratios" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]["median"]
with open(sys.argv[2], "a") as out:
    out.write("tree --json, 1000 domains / virsh list --all (connecting alone %.2fx)\t%.2fx\t<= 0.7x\n"
              % (results[2]["median"] / base, results[1]["median"] / base))
PY
