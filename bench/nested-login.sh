#!/bin/sh
# A command in a WPAR nested in an LPAR against the same command in a host WPAR. Goal (issue 9):
# `login LPAR/WPAR -- /bin/true` within 2x the host WPAR's. Both WPARs run the same idle profile.
# Appends `label<TAB>ratio<TAB>goal` to $BENCH_RATIOS (default work/ratios.tsv, in bench/).
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
echo "nested-login: login -- /bin/true in a nested WPAR vs a host WPAR, $runs runs each"
hyperfine -N -w 5 -r "$runs" --export-json work/nested-login.json \
    "$PARTCTL login $host -- /bin/true" \
    "$PARTCTL login $lpar/web -- /bin/true" >/dev/null
python3 median-ratio.py work/nested-login.json
python3 - work/nested-login.json "${BENCH_RATIOS:-work/ratios.tsv}" <<'EOF2'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
ratio = results[1]["median"] / results[0]["median"]
with open(sys.argv[2], "a") as out:
    out.write("nested login -- /bin/true / host WPAR's\t%.2fx\t<= 2x\n" % ratio)
EOF2
