#!/bin/sh
# Installs what partctl needs on Debian and starts libvirtd (and virtlogd) when they are not running.
# Idempotent: a second run only checks.
set -eu

PACKAGES="libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients libvirt-dev qemu-system-x86
qemu-utils libxml2-utils e2fsprogs busybox-static memtest86+ ovmf hyperfine cpio xz-utils zstd lz4 pkg-config iproute2 kmod
libseccomp-dev gcc libc6-dev tini man-db groff-base bsdutils util-linux grub-rescue-pc python3 xorriso dnsmasq-base
dpkg-dev fdisk curl mmdebstrap grub-pc-bin grub-efi-amd64-bin dosfstools mtools skopeo umoci gzip crun iperf3
nftables dnsmasq-utils openssh-server"
# tini: its static build /usr/bin/tini-static is the minimal init of application WPARs (init: true).
# libseccomp-dev: the seccomp filter's compiler, linked statically (libseccomp.a) into partctl and
# partagent. gcc and libc6-dev: the seccomp tests build a static probe program (cc -static).
# man-db and groff-base: the man-page test renders the generated pages (man -l); bsdutils (script)
# and util-linux (setpriv): terminal sessions and the unprivileged run of the unit tests.
# grub-rescue-pc: the ISO the graphical-console test boots; python3: its zlib decodes the
# screenshots in tests, independently of partctl's own PNG writer.
# xorriso: the NoCloud seed (first boot) of LPARs; dnsmasq-base: DHCP and DNS of libvirt's `default` network
# and of partctl's managed networks (partctl0); nftables (nft): their NAT and isolation (docs/networks.md).
# dpkg-dev (dpkg-shlibdeps): the partagent package's Depends. mmdebstrap, fdisk (sfdisk), curl (the
# mirror's Release dates), grub-pc-bin, grub-efi-amd64-bin, dosfstools and mtools: Debian images.
# skopeo and umoci: OCI image import (docs/images.md); gzip and zstd decompress layers for partctl's
# own layer check; crun: bench/oci-run.sh and bench/wpar-run.sh compare with it.
# iperf3: bench/forward-throughput.sh (a forward against a direct connection).
# openssh-server: the managed-systems test runs its own sshd (on 127.0.0.1, its own config) to reach
# another system's host WPARs as users do (ssh DEST partctl ...); the ssh service itself is not needed.

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# /dev/kvm: Debian's udev rules give it to group kvm, mode 0660, so that QEMU (running as
# libvirt-qemu, a member of kvm) can open it. Without udev (containers, CI sandboxes) it stays
# root-only; libvirt then finds KVM in its capability probe but not usable by QEMU's user, throws its
# capability cache away on every call and re-probes QEMU: every define takes a minute.
if [ -c /dev/kvm ] && getent group kvm >/dev/null && [ "$(stat -c %G:%a /dev/kvm)" != kvm:660 ]; then
    echo "setup: giving /dev/kvm to group kvm, mode 0660, as Debian's udev rules do"
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi

# Start the daemons. With systemd as PID 1 use it; otherwise (containers, CI sandboxes) run them
# daemonised, as root, the way their packages configure them.
start_daemon() {
    name=$1
    if pgrep -x "$name" >/dev/null 2>&1; then return 0; fi
    if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && command -v systemctl >/dev/null; then
        systemctl start "$name" || true
    fi
    if ! pgrep -x "$name" >/dev/null 2>&1; then
        echo "setup: starting $name"
        "/usr/sbin/$name" -d
    fi
}
start_daemon virtlogd
start_daemon libvirtd

# Wait until libvirtd answers on its socket.
i=0
until virsh -c qemu:///system version >/dev/null 2>&1; do
    i=$((i + 1))
    if [ $i -gt 50 ]; then
        echo "setup: libvirtd did not answer on qemu:///system within 10 seconds" >&2
        exit 1
    fi
    sleep 0.2
done
# partctl's state: closed to other users (a WPAR's writable layer lives below wpars/NAME, 0700, see
# docs/security.md); 0711 where someone must pass through: libvirt's unprivileged QEMU to the guest
# image, a user-namespaced WPAR's root to its own directory. install -d also tightens older 0755 ones.
install -d -m 0711 /var/lib/partctl /var/lib/partctl/wpars
install -d -m 0700 /run/partctl
# libvirt's NAT network `default`, where LPARs from images get their address: started, and
# started with libvirtd from now on. The storage pool `partctl` of LPAR disks (base volumes of
# images, overlays and seeds of LPARs, docs/images.md): a directory pool, 0711, started with libvirtd.
if virsh -c qemu:///system net-info default >/dev/null 2>&1; then
    virsh -c qemu:///system net-info default | grep -q '^Active: *yes' || virsh -c qemu:///system net-start default >/dev/null
    virsh -c qemu:///system net-autostart default >/dev/null
fi
if ! virsh -c qemu:///system pool-info partctl >/dev/null 2>&1; then
    virsh -c qemu:///system pool-define-as partctl dir --target /var/lib/partctl/pool >/dev/null
    virsh -c qemu:///system pool-build partctl >/dev/null
fi
virsh -c qemu:///system pool-info partctl | grep -q '^State: *running' || virsh -c qemu:///system pool-start partctl >/dev/null
virsh -c qemu:///system pool-autostart partctl >/dev/null
# The root file system of system WPARs. The bridge partctl0 is no longer made here: partctl makes
# its managed networks itself on first use (bridge, dnsmasq, NAT), and again after a reboot; an
# existing partctl0 with 10.77.0.1/24 is adopted as it is (docs/networks.md).
sh "$(dirname "$0")/build-rootfs.sh"
echo "setup: libvirtd is running ($(virsh -c qemu:///system version 2>/dev/null | sed -n 's/^Running hypervisor: //p'))"
