#!/bin/sh
# The Debian image (issue 10): a second `image build debian-12` with nothing changed (goal <= 2 s), the
# image's size, and an LPAR booting its disk: `partctl define` + `activate` until the agent answers,
# against `virsh start` of the same domain until the agent's line appears on the console (goal <= 1.05).
# The image is built first when the store lacks it (minutes: mmdebstrap). The LPAR is lpar-debian: a
# fresh overlay on the image's base volume and a seed at each define, so each start, partctl's and
# virsh's alike, is a first boot (cloud-init makes the host keys), like a new LPAR's.
set -eu
cd "$(dirname "$0")"
mkdir -p work/debian-image
root=${PARTCTL_ROOT:-/var/lib/partctl}
# The recipe of this checkout (an installed partctl finds its own in PREFIX/share/partctl/images).
export PARTCTL_IMAGES=${PARTCTL_IMAGES:-$(cd .. && pwd)/images}
export PARTCTL_PROFILES=${PARTCTL_PROFILES:-$(cd .. && pwd)/profiles}
runs=${RUNS:-3}
name=ptest-bench-debian
marker="partagent: serving"
ratios=${BENCH_RATIOS:-$(pwd)/work/ratios.tsv}
cleanup() {
    virsh -q destroy $name >/dev/null 2>&1 || true
    "$PARTCTL" remove $name --force >/dev/null 2>&1 || true
}
trap cleanup EXIT
cleanup

"$PARTCTL" image build debian-12 >/dev/null
start=$(date +%s.%N)
"$PARTCTL" image build debian-12 >/dev/null
second=$(echo "$(date +%s.%N) - $start" | bc)
size=$("$PARTCTL" image show debian-12 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])' 2>/dev/null ||
    python3 -c "import json; print(json.load(open('$root/store/debian-12/image.json'))['size'])")
volume=$(python3 -c "import json; print(json.load(open('$root/store/debian-12/image.json'))['disk']['volume'])")
qcow=$(stat -c %s "$root/pool/$volume" 2>/dev/null || echo 0)
printf 'debian-image: second build %.2f s; image %d MiB (base volume %d MiB, 4 GiB virtual)\n' "$second" $((size >> 20)) $((qcow >> 20))
printf 'image build debian-12, nothing changed\t%.2f s\t<= 2 s\n' "$second" >>"$ratios"
printf 'debian-12 image size (tree + disk.qcow2)\t%d MiB\t-\n' $((size >> 20)) >>"$ratios"

rm -f work/debian-image/*.json
i=0
while [ $i -lt "$runs" ]; do
    i=$((i + 1))
    t=$(date +%s.%N)
    "$PARTCTL" define $name --profile lpar-debian >/dev/null
    echo "$(date +%s.%N) - $t" | bc >work/debian-image/define-$i.txt
    python3 boot-timeline.py --json --timeout 300 --domain $name -- "$PARTCTL" activate $name >work/debian-image/partctl-$i.json
    "$PARTCTL" remove $name --force >/dev/null
    "$PARTCTL" define $name --profile lpar-debian >/dev/null
    python3 boot-timeline.py --json --timeout 300 --domain $name --wait-for "$marker" -- virsh -q start $name >work/debian-image/virsh-$i.json
    virsh -q destroy $name >/dev/null
    "$PARTCTL" remove $name >/dev/null
done
python3 - work/debian-image "$ratios" <<'PY'
import glob, json, statistics, sys
d, ratios = sys.argv[1], sys.argv[2]
load = lambda kind: [json.load(open(f)) for f in sorted(glob.glob(f"{d}/{kind}-*.json"))]
defines = [float(open(f).read()) for f in sorted(glob.glob(f"{d}/define-*.txt"))]
partctl, virsh = load("partctl"), load("virsh")
failed = [r for r in partctl + virsh if r["status"] != 0]
if failed:
    print(f"  {len(failed)} run(s) failed")
p = [dt + r["host"]["return"] for dt, r in zip(defines, partctl)]
v = [r["host"]["waited"] for r in virsh]
print("  partctl define + activate (agent answering): median %5.1f s  runs %s" % (statistics.median(p), " ".join("%.1f" % t for t in p)))
print("  virsh start + wait for the agent's line:     median %5.1f s  runs %s" % (statistics.median(v), " ".join("%.1f" % t for t in v)))
ratio = statistics.median(p) / statistics.median(v)
print("  ratio %.2f" % ratio)
with open(ratios, "a") as out:
    out.write("Debian LPAR define+activate until the agent answers (TCG)\t%.1f s\t-\n" % statistics.median(p))
    out.write("the same: partctl / virsh start + agent's console line\t%.2fx\t<= 1.05x\n" % ratio)
PY
