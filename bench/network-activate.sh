#!/bin/sh
# Activating (and shutting down) a host WPAR on a managed network, its address leased by partctl
# and reserved with dnsmasq (`network: partctl0`), against the same WPAR with a fixed address on
# the same bridge (`{bridge: partctl0, address, gateway}`). Goal (issue 11): <= 1.5x. What the
# managed one pays on top: the lease book checked under its lock, the network brought up if it
# is not (cheap when it is), the MAC set on the veth. $PARTCTL should be a `make release` build.
set -eu
cd "$(dirname "$0")"
mkdir -p work
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
runs=${RUNS:-40}
managed=ptest-bench-netdhcp
fixed=ptest-bench-netfixed
cleanup() {
    for n in $managed $fixed; do "$PARTCTL" remove --force "$n" >/dev/null 2>&1 || true; done
    rm -f work/net-managed.yaml work/net-fixed.yaml
}
trap cleanup EXIT
cleanup
rm -f work/net-activate-*.json
# An application WPAR whose command waits: tini passes shutdown's SIGTERM on, so it stops at once.
common='kind: wpar
extends: wpar-app
command: [/bin/sleep, "100000"]
'
printf '%snetwork: partctl0\n' "$common" >work/net-managed.yaml
"$PARTCTL" define $managed --profile "$(pwd)/work/net-managed.yaml"
"$PARTCTL" activate $managed
address=$("$PARTCTL" query $managed -F ip)
"$PARTCTL" shutdown $managed
# The fixed one takes the managed one's address: the managed WPAR gives it back first.
"$PARTCTL" remove $managed
printf '%snetwork: {bridge: partctl0, address: %s/24, gateway: 10.77.0.1}\n' "$common" "$address" >work/net-fixed.yaml
# Both defined at once: the managed one is given the next free address.
"$PARTCTL" define $fixed --profile "$(pwd)/work/net-fixed.yaml"
"$PARTCTL" define $managed --profile "$(pwd)/work/net-managed.yaml"
echo "network-activate: activate + shutdown of a host WPAR, leased address vs fixed address on partctl0, $runs runs each"
# Alternating rounds, so that a burst of load on the shared machine does not fall on one side only.
rounds=4
per_round=$(( (runs + rounds - 1) / rounds ))
i=0
while [ $i -lt $rounds ]; do
    hyperfine -N -w 2 -r $per_round --export-json work/net-activate-$i.json \
        "sh -c '$PARTCTL activate $managed && $PARTCTL shutdown $managed'" \
        "sh -c '$PARTCTL activate $fixed && $PARTCTL shutdown $fixed'" >/dev/null
    i=$((i + 1))
done
python3 - "${BENCH_RATIOS:-$(pwd)/work/ratios.tsv}" work/net-activate-*.json <<'PY'
import json, os, statistics, sys
target = sys.argv[1]
times = {0: [], 1: []}
for path in sys.argv[2:]:
    for index, result in enumerate(json.load(open(path))["results"]):
        times[index] += result["times"]
managed, fixed = statistics.median(times[0]), statistics.median(times[1])
ratio = managed / fixed
print("  leased (network: partctl0)   median %7.1f ms" % (managed * 1000))
print("  fixed ({bridge, address})    median %7.1f ms" % (fixed * 1000))
print("  ratio %.2fx (goal <= 1.5x)" % ratio)
os.makedirs(os.path.dirname(target), exist_ok=True)
with open(target, "a") as out:
    out.write("host WPAR on a managed network (leased) / fixed address, activate+shutdown\t%.2fx\t<= 1.5x\n" % ratio)
PY
