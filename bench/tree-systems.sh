#!/bin/sh
# `partctl tree` over two managed systems with 500 domains each (test-driver files, half of the
# domains with partctl's real metadata) against the sum of two `virsh -c URI list --all`, in
# alternating rounds. Goal (issue 12): ratio <= 1.2. Appends the figure to $BENCH_RATIOS.
set -eu
cd "$(dirname "$0")"
export PARTCTL_PROFILES="${PARTCTL_PROFILES:+$PARTCTL_PROFILES:}$(cd .. && pwd)/profiles"
mkdir -p work
ratios=${BENCH_RATIOS:-work/ratios.tsv}
rounds=${TREE_SYSTEMS_ROUNDS:-31}
# partctl's metadata as it really is: define one domain, read it back, remove the domain.
meta=ptest-bench-meta-sys
"$PARTCTL" define $meta --profile lpar-minimal >/dev/null
virsh -q dumpxml --inactive $meta | sed -n '/<metadata>/,/<\/metadata>/p' | sed '1d;$d' >work/metadata-systems.xml
"$PARTCTL" remove $meta >/dev/null
python3 make-test-node.py "$(pwd)/work/node-sys1.xml" 500 work/metadata-systems.xml
python3 make-test-node.py "$(pwd)/work/node-sys2.xml" 500 work/metadata-systems.xml
uri1="test://$(pwd)/work/node-sys1.xml"
uri2="test://$(pwd)/work/node-sys2.xml"
# A registry and state of its own: local is the first file, sys2 the second; no host WPARs.
scratch=$(mktemp -d /tmp/ptest-bench-systems.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/config" "$scratch/root" "$scratch/run"
export PARTCTL_CONFIG_DIR="$scratch/config" PARTCTL_ROOT="$scratch/root" PARTCTL_RUNTIME_ROOT="$scratch/run"
export PARTCTL_CONNECT="$uri1"
"$PARTCTL" system add sys2 "$uri2"
# Both systems answer, with 500 LPARs each.
test "$("$PARTCTL" tree --json | python3 -c 'import json,sys; print(",".join("%s:%d" % (r["system"], len(r["children"])) for r in json.load(sys.stdin)))')" = "local:500,sys2:500"
echo "tree-systems: partctl tree over 2 systems x 500 domains vs virsh list --all on each ($rounds alternating rounds)"
python3 - "$rounds" "$ratios" "$PARTCTL" "$uri1" "$uri2" <<'PY'
import statistics, subprocess, sys, time
rounds, ratios, partctl, uri1, uri2 = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
def timed(*commands):
    start = time.perf_counter()
    for command in commands:
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start
tree = [partctl, "tree"]
virsh = (["virsh", "-c", uri1, "list", "--all"], ["virsh", "-c", uri2, "list", "--all"])
timed(tree); timed(*virsh)  # warm the page cache
ours, theirs = [], []
for round in range(rounds):
    # Alternate which goes first, so neither always runs on a cache the other warmed.
    if round % 2 == 0:
        ours.append(timed(tree)); theirs.append(timed(*virsh))
    else:
        theirs.append(timed(*virsh)); ours.append(timed(tree))
a, b = statistics.median(ours), statistics.median(theirs)
print("  partctl tree (2 systems)            median %7.1f ms" % (a * 1000))
print("  virsh list --all x 2 (sum)          median %7.1f ms" % (b * 1000))
print("  ratio %.2f (goal <= 1.2)" % (a / b))
with open(ratios, "a") as out:
    out.write("tree, 2 systems x 500 domains / 2x virsh list --all\t%.2fx\t<= 1.2x\n" % (a / b))
PY
