#!/bin/sh
# A WPAR nested in an LPAR against a host WPAR running the same idle profile (issue 9):
# `login WPAR -- /bin/true` within 2x the host WPAR's, `query WPAR` within 1.2x. One LPAR is booted
# for both figures. Appends both to $BENCH_RATIOS (append-ratio.py).
set -eu
cd "$(dirname "$0")"
mkdir -p work
# The shipped profiles, as bench/run.sh sets them.
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
lpar=ptest-bench-nest
host=ptest-bench-host
runs=${RUNS:-40}
profile=$(pwd)/work/wpar-bench-idle.yaml
cleanup() {
    "$PARTCTL" remove $host --force >/dev/null 2>&1 || true
    "$PARTCTL" remove $lpar --force >/dev/null 2>&1 || true
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
# A guest just booted is still busy for a while (TCG): measure it settled, as it runs for its users.
sleep "${SETTLE:-20}"

echo "nested-vs-host: login -- /bin/true in a nested WPAR vs a host WPAR, $runs runs each"
hyperfine -N -w 5 -r "$runs" --export-json work/nested-login.json \
    "$PARTCTL login $host -- /bin/true" \
    "$PARTCTL login $lpar/web -- /bin/true" >/dev/null
python3 median-ratio.py work/nested-login.json
python3 append-ratio.py "nested login -- /bin/true / host WPAR's" "<= 2x" work/nested-login.json#1 work/nested-login.json#0

echo "nested-vs-host: query of a nested WPAR vs a host WPAR, $runs runs each"
hyperfine -N -w 5 -r "$runs" --export-json work/nested-query.json \
    "$PARTCTL query $host" \
    "$PARTCTL query $lpar/web" >/dev/null
python3 median-ratio.py work/nested-query.json
python3 append-ratio.py "query nested WPAR / host WPAR" "<= 1.2x" work/nested-query.json#1 work/nested-query.json#0
