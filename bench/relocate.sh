#!/bin/sh
# Live relocation of a 512 MiB lpar-minimal LPAR to a second managed system (scripts/second-system.sh)
# under TCG: `partctl relocate` against `virsh migrate --live --p2p --persistent --undefinesource` of
# the same domain, rounds alternating which goes first; each move comes back before the next
# (partctl's with `relocate -m sys2 --to local`, virsh's with a direct `virsh -c SYS2 migrate`).
# Figures (issue 12): libvirt's downtime of partctl's moves (median, as the destination's completed
# job reports it; goal <= 300 ms) and the total time of a move, partctl / virsh (medians; <= 1.1x).
set -eu
cd "$(dirname "$0")"
root=$(cd .. && pwd)
mkdir -p work
name=ptest-bench-reloc
sys=ptest-bench-sys2
rounds=${ROUNDS:-5}
config=$(mktemp -d)
export PARTCTL_CONFIG_DIR="$config"
cleanup() {
    "$PARTCTL" remove $name --force >/dev/null 2>&1 || true
    sh "$root/scripts/second-system.sh" down $sys
    rm -rf "$config"
}
trap cleanup EXIT
set -- $(sh "$root/scripts/second-system.sh" up $sys)
uri=$1 address=$2 hostaddress=$3
printf '{"systems":[{"name":"sys2","uri":"%s"}]}\n' "$uri" >"$config/systems.json"
chmod 600 "$config/systems.json"
"$PARTCTL" define $name --profile lpar-minimal -i desired_mem=512MiB
"$PARTCTL" activate $name

now() { date +%s.%N; }
# libvirt's downtime (ms) of the last move onto $1, as that system's completed job says.
downtime() { virsh -c "$1" domjobinfo $name --completed --keep-completed | awk '/^Total downtime:/ {print $3}'; }

: >work/relocate.tsv
partctl_round() {
    start=$(now)
    "$PARTCTL" relocate $name --to sys2 >/dev/null
    end=$(now)
    printf 'partctl\t%s\t%s\n' "$(awk "BEGIN {print $end - $start}")" "$(downtime "$uri")" >>work/relocate.tsv
    "$PARTCTL" relocate $name -m sys2 --to local >/dev/null
}
virsh_round() {
    start=$(now)
    virsh -q migrate --live --p2p --persistent --undefinesource $name "$uri" "tcp://$address"
    end=$(now)
    printf 'virsh\t%s\t%s\n' "$(awk "BEGIN {print $end - $start}")" "$(downtime "$uri")" >>work/relocate.tsv
    virsh -q -c "$uri" migrate --live --persistent --undefinesource $name qemu:///system "tcp://$hostaddress"
}
echo "relocate: 512 MiB LPAR live to a second system and back, partctl vs virsh, $rounds rounds"
round=0
while [ $round -lt "$rounds" ]; do
    if [ $((round % 2)) -eq 0 ]; then partctl_round; virsh_round; else virsh_round; partctl_round; fi
    round=$((round + 1))
done
python3 - work/relocate.tsv <<'EOF'
import os, statistics, sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().splitlines()]
def column(tool, index):
    return [float(row[index]) for row in rows if row[0] == tool and row[index].strip()]
seconds = {tool: statistics.median(column(tool, 1)) for tool in ("partctl", "virsh")}
downtime = {tool: statistics.median(column(tool, 2)) for tool in ("partctl", "virsh")}
for tool in ("partctl", "virsh"):
    print(f"  {tool:8} median {seconds[tool]:6.2f} s   libvirt's downtime median {downtime[tool]:6.0f} ms")
target = os.environ.get("BENCH_RATIOS") or os.path.join("work", "ratios.tsv")
with open(target, "a") as out:
    out.write(f"relocate 512 MiB LPAR live: libvirt's downtime (virsh {downtime['virsh']:.0f} ms)\t{downtime['partctl']:.0f} ms\t<= 300 ms\n")
    out.write(f"relocate 512 MiB LPAR live: partctl / virsh migrate --p2p\t{seconds['partctl'] / seconds['virsh']:.2f}x\t<= 1.1x\n")
EOF
