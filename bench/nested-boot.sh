#!/bin/sh
# From `partctl activate` of an LPAR with an agent (lpar-minimal) until the call returns with the agent
# answering, against `virsh start` of the same domain plus waiting for the agent's "serving" line on
# the serial console (what a virsh user would watch for). Goal (issue 4): partctl <= 4 s median under
# TCG, kernel boot included. Each run is timed by boot-timeline.py, which also stamps the boot's steps.
set -eu
cd "$(dirname "$0")"
mkdir -p work
name=ptest-bench-boot
runs=${RUNS:-5}
marker="partagent: serving"
cleanup() { virsh -q destroy $name >/dev/null 2>&1 || true; virsh -q undefine $name >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
"$PARTCTL" define $name --profile lpar-minimal
mkdir -p work/nested-boot
rm -f work/nested-boot/*.json
echo "nested-boot: activate to agent answer, partctl vs virsh start + console marker, $runs runs each"
i=0
while [ $i -lt "$runs" ]; do
    i=$((i + 1))
    # Alternating, so both see the same load on this shared machine.
    python3 boot-timeline.py --json --domain $name -- "$PARTCTL" activate $name >work/nested-boot/partctl-$i.json
    virsh -q destroy $name >/dev/null
    python3 boot-timeline.py --json --domain $name --wait-for "$marker" -- virsh -q start $name >work/nested-boot/virsh-$i.json
    virsh -q destroy $name >/dev/null
done
"$PARTCTL" remove $name
python3 - work/nested-boot "${BENCH_RATIOS:-$(pwd)/work/ratios.tsv}" <<'EOF'
import glob, json, statistics, sys
d, ratios = sys.argv[1], sys.argv[2]
def load(kind):
    return [json.load(open(f)) for f in sorted(glob.glob(f"{d}/{kind}-*.json"))]
def med(runs, key, where="host"):
    values = [r[where][key] for r in runs if key in r[where]]
    return statistics.median(values) * (1000 if where == "host" else 1) if values else None
partctl, virsh = load("partctl"), load("virsh")
failed = [r for r in partctl + virsh if r["status"] != 0]
if failed:
    print(f"  {len(failed)} run(s) failed")
p_total = [r["host"]["return"] for r in partctl]
v_total = [r["host"]["waited"] for r in virsh]
print("  partctl activate (returns with the agent answering): median %6.0f ms  runs %s" %
      (statistics.median(p_total) * 1000, " ".join("%.0f" % (t * 1000) for t in p_total)))
print("  virsh start + wait for '%s':          median %6.0f ms  runs %s" %
      ("partagent: serving", statistics.median(v_total) * 1000, " ".join("%.0f" % (t * 1000) for t in v_total)))
print("  ratio partctl/virsh %.2f" % (statistics.median(p_total) / statistics.median(v_total)))
with open(ratios, "a") as out:
    out.write("LPAR activate until its agent answers (TCG)\t%.2f s\t<= 4 s\n" % statistics.median(p_total))
    out.write("the same: partctl / virsh start + agent's console line\t%.2fx\t-\n"
              % (statistics.median(p_total) / statistics.median(v_total)))
print("  partctl timeline (medians, ms from the call): qemu %s  first console byte %s  agent serving %s  return %s" %
      tuple("%.0f" % m if m is not None else "-" for m in
            (med(partctl, "qemu"), med(partctl, "first-byte"), med(partctl, "agent"), med(partctl, "return"))))
g = med(partctl, "agent", "guest")
if g is not None:
    print("  guest uptime when the agent serves: median %.2f s" % g)
EOF
