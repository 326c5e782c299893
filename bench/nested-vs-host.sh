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

# compare TITLE JSON LABEL GOAL HOST-COMMAND NESTED-COMMAND: both timed, their ratio appended.
compare() {
    echo "nested-vs-host: $1, $runs runs each"
    hyperfine -N -w 5 -r "$runs" --export-json "work/$2" "$5" "$6" >/dev/null
    python3 median-ratio.py "work/$2"
    python3 append-ratio.py "$3" "$4" "work/$2#1" "work/$2#0"
}
compare "login -- /bin/true in a nested WPAR vs a host WPAR" nested-login.json "nested login -- /bin/true / host WPAR's" "<= 2x" \
    "$PARTCTL login $host -- /bin/true" "$PARTCTL login $lpar/web -- /bin/true"
compare "query of a nested WPAR vs a host WPAR" nested-query.json "query nested WPAR / host WPAR" "<= 1.2x" \
    "$PARTCTL query $host" "$PARTCTL query $lpar/web"
