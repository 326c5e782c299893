#!/bin/sh
# The steps of a Debian image build; partctl's DebianImageBuilder runs them (one per call, in a PID
# and mount namespace of their own that dies with partctl: docs/images.md) and does the caching.
#
#   build.sh packages OUT.tar     mmdebstrap: the packages, the files of images/debian/files, the
#                                 partagent package, first-boot clean-up; a tar of the tree
#   build.sh rootfs IN.tar DIR    the tree, unpacked with owners, modes and extended attributes
#   build.sh disk DIR OUT.qcow2   fstab and grub.cfg into DIR, then a GPT disk: BIOS boot partition
#                                 (GRUB's core.img), EFI system partition (BOOTX64.EFI), ext4 root
#                                 made from DIR (mkfs.ext4 -d); qcow2. Nothing is mounted, no loop
#                                 device is used.
# Environment (from the recipe): DEBIAN_SUITE, DEBIAN_SOURCES (a deb822 file), DEBIAN_PACKAGES
# (comma-separated), PARTAGENT_DEB (path, or empty), DISK_MIB, ROOT_UUID, ESP_SERIAL (8 hex),
# KERNEL_CMDLINE, FIRMWARE ("bios uefi"). Progress lines start with "step: ".
set -eu

here=$(cd "$(dirname "$0")" && pwd)
say() { echo "step: $*"; }
die() {
    echo "debian-image: $*" >&2
    exit 1
}

packages() {
    out=$1
    [ -f "$DEBIAN_SOURCES" ] || die "no sources file $DEBIAN_SOURCES"
    # Before the kernel is installed: an initramfs with the disk drivers of LPARs only (virtio, and
    # SATA, SCSI and IDE for profiles that pick those buses) instead of most of the kernel's: less to
    # unpack and probe under TCG.
    set -- --mode=root --variant=minbase --format=tar --include="$DEBIAN_PACKAGES" \
        --aptopt='Acquire::Retries "3"' \
        --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
        --essential-hook='echo MODULES=list >"$1/etc/initramfs-tools/conf.d/partctl.conf"' \
        --essential-hook='printf "%s\n" virtio_pci virtio_blk virtio_scsi sd_mod ahci ata_piix >"$1/usr/share/initramfs-tools/modules.d/partctl"' \
        --customize-hook="cp -a '$here/files/.' \"\$1/\""
    if [ -n "${PARTAGENT_DEB:-}" ]; then
        set -- "$@" \
            --customize-hook="cp '$PARTAGENT_DEB' \"\$1/tmp/partagent.deb\"" \
            --customize-hook='chroot "$1" dpkg -i /tmp/partagent.deb' \
            --customize-hook='rm "$1/tmp/partagent.deb"'
    fi
    # DHCP by systemd-networkd, names by systemd-resolved; nothing waits for the network to be
    # online (partctl's agent speaks over virtio-serial). The machine's own identity is made at
    # its first boot: machine-id (systemd), SSH host keys (cloud-init, or ssh.service's drop-in).
    set -- "$@" \
        --customize-hook='chroot "$1" systemctl enable systemd-networkd.service systemd-resolved.service' \
        --customize-hook='chroot "$1" systemctl mask systemd-networkd-wait-online.service' \
        --customize-hook='rm -f "$1"/etc/ssh/ssh_host_*' \
        --customize-hook='echo debian >"$1/etc/hostname"'
    say "packages: mmdebstrap $DEBIAN_SUITE"
    mmdebstrap --quiet "$@" "$DEBIAN_SUITE" "$out.part" "$DEBIAN_SOURCES" </dev/null
    mv "$out.part" "$out"
}

rootfs() {
    tar=$1 dir=$2
    mkdir -p "$dir"
    say "rootfs: unpacking"
    tar -x -f "$tar" -C "$dir" --numeric-owner --same-owner --same-permissions --xattrs --xattrs-include='*'
    [ -x "$dir/sbin/init" ] || [ -L "$dir/sbin/init" ] || die "the tree has no /sbin/init"
}

disk() {
    dir=$1 out=$2
    work=$(dirname "$out")/disk.work
    rm -rf "$work"
    mkdir -p "$work"
    [ -e "$dir/vmlinuz" ] && [ -e "$dir/initrd.img" ] || die "the tree has no /vmlinuz or /initrd.img"

    # Layout (MiB): 1 BIOS boot (1 MiB), 2 EFI system (63 MiB), 3 root (the rest, 1 MiB left for
    # the backup GPT).
    bios_start=2048 bios_sectors=2048
    esp_start=4096 esp_sectors=129024
    root_start=133120
    total_sectors=$((DISK_MIB * 2048))
    root_sectors=$((total_sectors - root_start - 2048))

    say "disk: fstab and grub.cfg"
    printf 'UUID=%s / ext4 errors=remount-ro 0 1\n' "$ROOT_UUID" >"$dir/etc/fstab"
    mkdir -p "$dir/boot/grub"
    cat >"$dir/boot/grub/grub.cfg" <<CFG
# Written by partctl's image build. The kernel is /vmlinuz, the link Debian's kernel packages keep
# on the newest kernel, so an upgrade inside the LPAR boots the new one without GRUB's packages.
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry 'Debian GNU/Linux' {
    linux /vmlinuz root=UUID=$ROOT_UUID $KERNEL_CMDLINE
    initrd /initrd.img
}
CFG

    say "disk: ext4 root file system ($((root_sectors / 2048)) MiB)"
    # -d copies the tree in; lazy init off so that the first boot does no background zeroing.
    mkfs.ext4 -q -F -L debian-root -U "$ROOT_UUID" -E lazy_itable_init=0,lazy_journal_init=0,root_owner=0:0 \
        -d "$dir" "$work/root.img" "$((root_sectors / 2))k"
    # The same tree is the root of system WPARs, which partctl mounts: an fstab naming the disk's
    # UUID would fail systemd-remount-fs.service there (a WPAR left degraded). The disk has its own.
    printf '# A system WPAR'"'"'s root is mounted by partctl; the LPAR disk'"'"'s /etc/fstab names its root.\n' >"$dir/etc/fstab"

    modules="part_gpt ext2 linux normal configfile echo test serial terminal search search_fs_uuid gzio zstd"
    say "boot loader: GRUB (i386-pc core.img, x86_64-efi BOOTX64.EFI)"
    grub-mkimage -O i386-pc -d /usr/lib/grub/i386-pc -p '(,gpt3)/boot/grub' -o "$work/core.img" \
        biosdisk $modules
    [ "$(stat -c %s "$work/core.img")" -le $((bios_sectors * 512)) ] || die "core.img does not fit the BIOS boot partition"
    grub-mkimage -O x86_64-efi -d /usr/lib/grub/x86_64-efi -p '(,gpt3)/boot/grub' -o "$work/BOOTX64.EFI" \
        $modules efi_gop
    mkfs.vfat -C -n EFI -i "$ESP_SERIAL" "$work/esp.img" $((esp_sectors / 2)) >/dev/null
    mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT
    mcopy -i "$work/esp.img" "$work/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

    say "disk: partitions"
    truncate -s $((total_sectors * 512)) "$work/disk.raw"
    sfdisk --quiet --label gpt "$work/disk.raw" <<TABLE
start=$bios_start, size=$bios_sectors, type=21686148-6449-6E6F-744E-656564454649, name="bios"
start=$esp_start, size=$esp_sectors, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name="esp"
start=$root_start, size=$root_sectors, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"
TABLE
    dd if="$work/esp.img" of="$work/disk.raw" bs=512 seek=$esp_start conv=notrunc,sparse status=none
    dd if="$work/root.img" of="$work/disk.raw" bs=1M seek=$((root_start / 2048)) conv=notrunc,sparse status=none
    rm -f "$work/root.img" "$work/esp.img"
    # SeaBIOS: boot.img's code in the MBR (the protective MBR's partition table stays), told where
    # core.img starts; core.img in the BIOS boot partition, its first sector told where the rest is.
    dd if="$work/core.img" of="$work/disk.raw" bs=512 seek=$bios_start conv=notrunc status=none
    dd if=/usr/lib/grub/i386-pc/boot.img of="$work/disk.raw" bs=440 count=1 conv=notrunc status=none
    le64 $bios_start | dd of="$work/disk.raw" bs=1 seek=$((0x5c)) conv=notrunc status=none
    le64 $((bios_start + 1)) | dd of="$work/disk.raw" bs=1 seek=$((bios_start * 512 + 0x1f4)) conv=notrunc status=none

    say "disk: qcow2"
    qemu-img convert -f raw -O qcow2 "$work/disk.raw" "$out.part"
    rm -rf "$work"
    mv "$out.part" "$out"
}

# Eight bytes, little-endian, of $1.
le64() {
    n=$1
    i=0
    while [ $i -lt 8 ]; do
        printf "\\$(printf '%03o' $((n & 255)))"
        n=$((n >> 8))
        i=$((i + 1))
    done
}

step=${1:-}
shift || true
case "$step" in
    packages) [ $# = 1 ] || die "usage: build.sh packages OUT.tar"; packages "$1" ;;
    rootfs) [ $# = 2 ] || die "usage: build.sh rootfs IN.tar DIR"; rootfs "$1" "$2" ;;
    disk) [ $# = 2 ] || die "usage: build.sh disk DIR OUT.qcow2"; disk "$1" "$2" ;;
    *) die "usage: build.sh packages|rootfs|disk ..." ;;
esac
