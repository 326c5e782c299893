#!/bin/sh
# Builds the root file system of system WPARs from Debian's busybox-static: the busybox binary, a
# link for each applet, an inittab that gives the console a shell, and the directories a root
# needs. Idempotent; rebuilt when busybox changes. Output: $PARTCTL_ROOT/rootfs/busybox
set -eu
root=${PARTCTL_ROOT:-/var/lib/partctl}/rootfs/busybox
busybox=/bin/busybox
stamp="$root/.partctl-rootfs"
# rootfs/ is 0711, not listable; passable because a user-namespaced WPAR's mapped root reads its
# base through it (docs/security.md, "State directories and layers").
install -d -m 0711 "${root%/*}"
want="busybox=$(sha256sum "$busybox" | cut -c1-64) format=1"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "rootfs: building $root from $busybox"
tmp="$root.tmp.$$"
rm -rf "$tmp"
trap 'rm -rf "$tmp"' EXIT
for d in bin sbin etc proc dev sys tmp run root usr usr/bin usr/sbin var var/log home; do
    mkdir -p "$tmp/$d"
done
chmod 1777 "$tmp/tmp"
chmod 0700 "$tmp/root"
install -m 0755 "$busybox" "$tmp/bin/busybox"
for applet in $("$busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$tmp/bin/$applet"
done
ln -s ../bin/busybox "$tmp/sbin/init"
cat >"$tmp/etc/inittab" <<'EOT'
# busybox init of a partctl system WPAR: a shell on the console (partctl console), respawned.
::sysinit:/bin/hostname -F /etc/hostname
::respawn:-/bin/sh
::shutdown:/bin/sync
EOT
echo wpar >"$tmp/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$tmp/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$tmp/etc/group"
echo "$want" >"$tmp/.partctl-rootfs"
rm -rf "$root"
mv "$tmp" "$root"
trap - EXIT
echo "rootfs: $root ready ($("$busybox" | head -n 1 | cut -d' ' -f1-2))"
