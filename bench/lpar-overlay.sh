#!/bin/sh
# What a new LPAR's disk costs (issue 10): its overlay is a qcow2 volume whose backing store is the
# image's base, made through libvirt's storage API (virStorageVolCreateXML, the call partctl
# makes, here through virsh vol-create with the XML partctl writes). Goals: <= 1 MiB of disk and
# <= 100 ms to create. Compared with `qemu-img create -f qcow2 -b` of the same base, which is what
# libvirt runs underneath. The base is a ptest- volume of 2 GiB with 64 MiB written, in the partctl pool.
set -eu
cd "$(dirname "$0")"
mkdir -p work
runs=${RUNS:-20}
pool=partctl
base=ptest-bench-base.qcow2
overlay=ptest-bench-overlay.qcow2
v() { virsh -q -c qemu:///system "$@"; }
cleanup() {
    v vol-delete --pool $pool $overlay >/dev/null 2>&1 || true
    v vol-delete --pool $pool $base >/dev/null 2>&1 || true
    rm -f work/qemu-img-overlay.qcow2
}
trap cleanup EXIT
cleanup
# The pool as partctl makes it (setup.sh does the same): defined, built and started if missing.
if ! v pool-info $pool >/dev/null 2>&1; then
    v pool-define-as $pool dir --target /var/lib/partctl/pool >/dev/null
    v pool-build $pool >/dev/null
fi
v pool-info $pool | grep -q '^State: *running' || v pool-start $pool >/dev/null
dir=$(v pool-dumpxml $pool | sed -n 's:.*<path>\(.*\)</path>.*:\1:p' | head -1)
v vol-create-as $pool $base 2G --format qcow2 >/dev/null
qemu-io -f qcow2 -c 'write -P 0x5a 0 64M' "$dir/$base" >/dev/null
v pool-refresh $pool >/dev/null
capacity=$(v vol-info --bytes --pool $pool $base | sed -n 's/^Capacity: *\([0-9]*\).*/\1/p')
cat >work/overlay.xml <<EOS
<volume><name>$overlay</name><capacity unit='bytes'>$capacity</capacity><allocation unit='bytes'>0</allocation>
<target><format type='qcow2'/><permissions><mode>0600</mode></permissions></target>
<backingStore><path>$dir/$base</path><format type='qcow2'/></backingStore></volume>
EOS
echo "lpar-overlay: an overlay on a 2 GiB base, libvirt's storage API vs qemu-img, $runs runs each"
# The libvirt call is timed inside one virsh session (virsh -t times each command), so neither a
# process start nor a connection is counted: what partctl's define pays is the call itself.
commands=""
i=0
while [ $i -lt "$runs" ]; do
    commands="$commands vol-create $pool $(pwd)/work/overlay.xml; vol-info --bytes --pool $pool $overlay; vol-delete --pool $pool $overlay;"
    i=$((i + 1))
done
virsh -t -c qemu:///system "$commands" >work/overlay-virsh.txt 2>&1
# qemu-img create -b as a process of its own, as libvirt runs it.
: >work/qemu-img-overlay.qcow2
hyperfine -N -w 2 -r "$runs" --export-json work/overlay-qemu-img.json \
    --prepare "rm -f $(pwd)/work/qemu-img-overlay.qcow2" \
    "qemu-img create -q -f qcow2 -b $dir/$base -F qcow2 $(pwd)/work/qemu-img-overlay.qcow2" >/dev/null
python3 - work/overlay-virsh.txt work/overlay-qemu-img.json <<'EOS'
import json, os, re, statistics, sys
text = open(sys.argv[1]).read()
times = [float(t) for t in re.findall(r"\(Time: ([0-9.]+) ms\)", text)]
creates = times[0::3]
allocations = [int(a) for a in re.findall(r"Allocation: *([0-9]+)", text)]
libvirt = statistics.median(creates)
qemu_img = json.load(open(sys.argv[2]))["results"][0]["median"] * 1000
allocation = max(allocations)
print(f"virStorageVolCreateXML: median {libvirt:.1f} ms of {len(creates)} (min {min(creates):.1f}, max {max(creates):.1f}); "
      f"qemu-img create -b: {qemu_img:.1f} ms; ratio {libvirt/qemu_img:.2f}; overlay allocation at most {allocation/1024:.0f} KiB")
target = os.environ.get("BENCH_RATIOS") or os.path.join(os.path.dirname(os.path.abspath(sys.argv[1])), "ratios.tsv")
with open(target, "a") as out:
    out.write(f"LPAR overlay create (libvirt storage API)\t{libvirt:.0f} ms\t<= 100 ms\n")
    out.write(f"LPAR overlay create: libvirt call / qemu-img create -b\t{libvirt/qemu_img:.2f}x\treported\n")
    out.write(f"LPAR overlay disk allocation\t{allocation/1024:.0f} KiB\t<= 1 MiB\n")
EOS
