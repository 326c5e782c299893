#!/bin/sh
# A command in a WPAR nested in an LPAR against the same command in a host WPAR, and the query of
# the nested WPAR, in one run. Goals (issue 4): `login LPAR/WPAR -- /bin/true` within 3x the host
# WPAR's, `query LPAR/WPAR` median <= 100 ms. Both WPARs run the same idle profile.
set -eu
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
cat >"$profile" <<EOF
kind: wpar
extends: wpar-app-web
command: [/bin/sleep, infinity]
EOF
"$PARTCTL" define $lpar --profile lpar-minimal
"$PARTCTL" activate $lpar
"$PARTCTL" define $lpar/web --profile "$profile"
"$PARTCTL" activate $lpar/web
"$PARTCTL" define $host --profile "$profile"
"$PARTCTL" activate $host
# A guest just booted is still busy for a while (TCG): measure it settled, as it runs for its users.
sleep "${SETTLE:-20}"
echo "nested-login: login -- /bin/true in a nested WPAR vs a host WPAR, and query of the nested one, $runs runs each"
hyperfine -N -w 5 -r "$runs" --export-json work/nested-login.json \
    "$PARTCTL login $host -- /bin/true" \
    "$PARTCTL login $lpar/web -- /bin/true" \
    "$PARTCTL query $lpar/web" >/dev/null
python3 median-ratio.py work/nested-login.json
