#!/bin/sh
# One LPAR's define + activate + force + remove with partctl, against the same cycle with virsh on
# the same domain XML. Goal (issue 2): ratio <= 1.2. memtest86+: an LPAR without an agent, so
# activate returns once libvirt has started it, as virsh start does.
set -eu
cd "$(dirname "$0")"
mkdir -p work
name=ptest-bench-lpar
runs=${RUNS:-8}
cleanup() { virsh -q destroy $name >/dev/null 2>&1 || true; virsh -q undefine $name >/dev/null 2>&1 || true; }
trap cleanup EXIT
cleanup
# The XML virsh gets is exactly what partctl defines.
"$PARTCTL" define $name --profile lpar-memtest
virsh -q dumpxml --inactive $name >work/$name.xml
"$PARTCTL" remove $name
cat >work/virsh-cycle.sh <<EOS
virsh -q define $(pwd)/work/$name.xml >/dev/null && virsh -q start $name >/dev/null && virsh -q destroy $name >/dev/null && virsh -q undefine $name >/dev/null
EOS
cat >work/partctl-cycle.sh <<EOS
$PARTCTL define $name --profile lpar-memtest && $PARTCTL activate $name && $PARTCTL force $name && $PARTCTL remove $name
EOS
echo "lpar-cycle: define+activate+force+remove, partctl vs virsh, $runs runs each"
hyperfine -w 1 -r "$runs" --export-json work/cycle.json \
    "sh work/virsh-cycle.sh" "sh work/partctl-cycle.sh" >/dev/null
python3 median-ratio.py work/cycle.json
python3 append-ratio.py "LPAR define+activate+force+remove: partctl / virsh" "<= 1.2x" work/cycle.json#1 work/cycle.json#0
