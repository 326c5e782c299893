#!/bin/sh
# `query` of one nested WPAR against `query` of one host WPAR. Goal (issue 9): at most 1.2x.
# Appends `label<TAB>ratio<TAB>goal` to $BENCH_RATIOS (default work/ratios.tsv, in bench/).
set -eu
cd "$(dirname "$0")"
mkdir -p work
# The shipped profiles, as bench/run.sh sets them.
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
lpar=ptest-bench-nestq
host=ptest-bench-hostq
runs=${RUNS:-40}
profile=$(pwd)/work/wpar-bench-idle-q.yaml
cleanup() {
    "$PARTCTL" remove $host --force >/dev/null 2>&1 || true
    virsh -q destroy $lpar >/dev/null 2>&1 || true
    virsh -q undefine $lpar >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup
cat >"$profile" <<EOF2
kind: wpar
extends: wpar-app-web
command: [/bin/sleep, infinity]
EOF2
"$PARTCTL" define $lpar --profile lpar-minimal
"$PARTCTL" activate $lpar
"$PARTCTL" define $lpar/web --profile "$profile"
"$PARTCTL" activate $lpar/web
"$PARTCTL" define $host --profile "$profile"
"$PARTCTL" activate $host
sleep "${SETTLE:-20}"
echo "nested-query: query of a nested WPAR vs a host WPAR, $runs runs each"
hyperfine -N -w 5 -r "$runs" --export-json work/nested-query.json \
    "$PARTCTL query $host" \
    "$PARTCTL query $lpar/web" >/dev/null
python3 median-ratio.py work/nested-query.json
python3 - work/nested-query.json "${BENCH_RATIOS:-work/ratios.tsv}" <<'EOF2'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
ratio = results[1]["median"] / results[0]["median"]
with open(sys.argv[2], "a") as out:
    out.write("query nested WPAR / host WPAR\t%.2fx\t<= 1.2x\n" % ratio)
EOF2
