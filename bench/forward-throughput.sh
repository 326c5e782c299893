#!/bin/sh
# Throughput through a port forward to a host WPAR (issue 11): iperf3's server in a WPAR on partctl0,
# its client on the host, once through the forward (127.0.0.1:HOSTPORT, nftables DNAT and
# masquerade) and once straight to the WPAR's address, a few seconds each, in alternating rounds
# so a burst of load on the shared machine does not fall on one side alone. Goal: forward/direct
# >= 0.9x (medians of the rounds). Loopback and bridge traffic only. $PARTCTL: a `make release` build.
set -eu
cd "$(dirname "$0")"
mkdir -p work
PARTCTL=${PARTCTL:-../.build/release/partctl}
rounds=${ROUNDS:-9}
seconds=${SECONDS_EACH:-3}
name=ptest-bench-fwd
address=10.77.0.189
command -v iperf3 >/dev/null || { echo "forward-throughput: iperf3 is missing (make setup installs it)" >&2; exit 1; }

cat >work/forward-iperf.yaml <<YAML
kind: wpar
type: application
command: [/usr/bin/iperf3, --server, --port, "5201"]
network: {bridge: partctl0, address: $address/24, gateway: 10.77.0.1}
user_namespace: true
YAML

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
cleanup() {
    "$PARTCTL" forward remove "$port" >/dev/null 2>&1 || true
    "$PARTCTL" remove "$name" --force >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
cleanup
"$PARTCTL" define "$name" --profile work/forward-iperf.yaml
"$PARTCTL" activate "$name"
"$PARTCTL" forward add "$port" "$name:5201"
# iperf3's server is up once a client gets through.
i=0
until iperf3 -c "$address" -p 5201 -t 1 >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -lt 50 ] || { echo "forward-throughput: the iperf3 server never answered" >&2; exit 1; }
done

measure() {  # host port -> bits per second received
    iperf3 -c "$1" -p "$2" -t "$seconds" -J | python3 -c 'import json,sys; print(json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"])'
}
: >work/forward-throughput.txt
r=0
while [ $r -lt "$rounds" ]; do
    direct=$(measure "$address" 5201)
    forward=$(measure 127.0.0.1 "$port")
    echo "$direct $forward" >>work/forward-throughput.txt
    awk -v r=$((r + 1)) -v d="$direct" -v f="$forward" \
        'BEGIN { printf "forward-throughput: round %d: direct %.2f Gbit/s, forward %.2f Gbit/s\n", r, d / 1e9, f / 1e9 }'
    r=$((r + 1))
done
python3 - work/forward-throughput.txt "${BENCH_RATIOS:-$(pwd)/work/ratios.tsv}" <<'PY'
import statistics, sys
rows = [tuple(map(float, line.split())) for line in open(sys.argv[1]) if line.strip()]
direct = statistics.median(r[0] for r in rows)
forward = statistics.median(r[1] for r in rows)
ratio = forward / direct
print(f"forward-throughput: median direct {direct / 1e9:.2f} Gbit/s, through the forward {forward / 1e9:.2f} Gbit/s: {ratio:.2f}x")
with open(sys.argv[2], "a") as out:
    out.write(f"forward to a host WPAR / direct to its address (iperf3, {len(rows)} rounds)\t{ratio:.2f}x\t>= 0.9x\n")
PY
