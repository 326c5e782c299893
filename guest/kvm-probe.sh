#!/bin/sh
# Tells whether guests can use KVM here: prints "kvm" or "tcg" and exits 0 (1 only when it cannot
# probe at all: no guest image or no QEMU). The reason goes to stderr.
#
# /dev/kvm existing is not enough: a host can offer a KVM that runs only special guests (this CI
# machine's /dev/kvm is kvm-pvm, which runs unmodified kernels so slowly that they never finish booting,
# and then stops them with an emulation failure). So the probe boots the real guest image under KVM
# with partctl.probe=1, which makes /init print "partctl-guest: probe ok" and power off at once. KVM
# counts as working when that marker appears within KVM_PROBE_TIMEOUT seconds (default 4: a working KVM
# should get there in well under a second, TCG takes 2.3-2.8 s, so a KVM slower than 4 s is of no use).
# The CPU is QEMU's default model, which is what libvirt gives a domain without a <cpu> element; on this
# machine "-cpu host" (host-passthrough) makes QEMU abort at once on an MSR it cannot set.
set -u

image=${PARTCTL_ROOT:-/var/lib/partctl}/images/partctl-guest
limit=${KVM_PROBE_TIMEOUT:-4}
qemu=${QEMU:-qemu-system-x86_64}

answer() {
    [ -n "${2:-}" ] && echo "kvm-probe: $2" >&2
    echo "$1"
    exit 0
}

[ -f "$image/vmlinuz" ] && [ -f "$image/initrd.img" ] || {
    echo "kvm-probe: no guest image in $image; run make guest-image" >&2
    exit 1
}
command -v "$qemu" >/dev/null || {
    echo "kvm-probe: $qemu is not installed" >&2
    exit 1
}
[ -c /dev/kvm ] || answer tcg "/dev/kvm does not exist"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || answer tcg "/dev/kvm is not readable and writable for $(id -un)"

out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
# -no-reboot: a guest that panics or triple-faults ends QEMU at once instead of looping.
timeout -k 1 "$limit" "$qemu" -accel kvm -machine pc -m 128 -smp 1 \
    -nodefaults -no-user-config -display none -monitor none -serial stdio -no-reboot \
    -kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
    -append "console=ttyS0 quiet panic=-1 partctl.probe=1" </dev/null >"$out" 2>"$err"
status=$?

if grep -q "partctl-guest: probe ok" "$out"; then
    answer kvm "the guest booted under KVM"
fi
case $status in
    124 | 137) answer tcg "no probe marker within $limit s under KVM (KVM present but not usable here)" ;;
    *) answer tcg "QEMU with KVM ended without the probe marker (status $status): $(tail -n 3 "$err" | tr '\n' ' ')" ;;
esac
