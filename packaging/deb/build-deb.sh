#!/bin/sh
# Builds the partagent Debian package from the static, stripped partagent and partctl-supervisor that
# `make guest-binaries` leaves in BINDIR (.build-guest/image):
#   OUTDIR/partagent_<version>_<arch>.deb and OUTDIR/partagent.deb (the same file, a fixed name)
# Usage: sh packaging/deb/build-deb.sh BINDIR OUTDIR
# Equal binaries give a byte-identical package (owner root, times SOURCE_DATE_EPOCH), so the Debian
# image's cache key, which holds the package's digest, changes only when the agent does.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
[ $# = 2 ] || { echo "usage: $0 BINDIR OUTDIR" >&2; exit 2; }
bindir=$1
outdir=$2
die() {
    echo "deb: error: $*" >&2
    exit 1
}
for f in partagent partctl-supervisor; do
    [ -f "$bindir/$f" ] && [ -x "$bindir/$f" ] || die "$bindir/$f is missing; run make guest-binaries"
done
command -v dpkg-deb >/dev/null || die "dpkg-deb is missing"

# The version is the agent's own (partagent --version: "partagent 0.2.0 (protocol 4)").
version=$(SWIFT_DETERMINISTIC_HASHING=1 "$bindir/partagent" --version | sed -n 's/^partagent \([0-9][0-9A-Za-z.+~-]*\) .*/\1/p')
[ -n "$version" ] || die "$bindir/partagent --version did not name a version"
arch=$(dpkg --print-architecture)

if ldd "$bindir/partctl-supervisor" >/dev/null 2>&1; then
    die "$bindir/partctl-supervisor is linked dynamically; build it with make supervisor"
fi
command -v dpkg-shlibdeps >/dev/null || die "dpkg-shlibdeps is missing; install dpkg-dev (scripts/setup.sh)"

work=$(mktemp -d "${TMPDIR:-/tmp}/partagent-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/root
install -d -m 0755 "$root/DEBIAN" "$root/usr/sbin" "$root/usr/libexec/partctl" \
    "$root/usr/lib/systemd/system" "$root/usr/lib/udev/rules.d" "$root/usr/share/doc/partagent"
install -m 0755 "$bindir/partagent" "$root/usr/sbin/partagent"
# The engine finds its supervisor in /usr/libexec/partctl (SupervisorProgram).
install -m 0755 "$bindir/partctl-supervisor" "$root/usr/libexec/partctl/partctl-supervisor"
install -m 0644 "$here/partagent.service" "$root/usr/lib/systemd/system/partagent.service"
install -m 0644 "$here/70-partagent.rules" "$root/usr/lib/udev/rules.d/70-partagent.rules"
install -m 0644 "$here/copyright" "$root/usr/share/doc/partagent/copyright"
for script in postinst prerm postrm; do
    install -m 0755 "$here/$script" "$root/DEBIAN/$script"
done

# The libraries the agent needs (glibc, libstdc++, libgcc: the Swift runtime is linked in) with
# the versions their symbols files name; libc6 at least 2.36 when the agent uses packed relative
# relocations (DT_RELR), which older loaders refuse.
install -d "$work/debian"
printf 'Source: partagent\n\nPackage: partagent\nArchitecture: any\n' >"$work/debian/control"
depends=$(cd "$work" && dpkg-shlibdeps -O root/usr/sbin/partagent 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no libraries for partagent"
if readelf -d "$bindir/partagent" | grep -q '(RELR)'; then
    depends=$(echo "$depends" | sed 's/libc6 (>= [0-9.]*)/libc6 (>= 2.36)/')
fi

size=$(du -k -s --apparent-size "$root/usr" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: partagent
Version: $version
Architecture: $arch
Maintainer: partctl developers <root@localhost>
Section: admin
Priority: optional
Installed-Size: $size
Depends: $depends, systemd, udev
Recommends: tini
Description: partctl's agent for workload partitions nested in a virtual machine
 partagent runs inside an LPAR (a libvirt VM) that partctl manages and serves partctl's agent
 protocol on the virtio-serial ports org.partctl.agent.0 to .3, so that the host can define, start
 and log in to WPARs nested in the VM and run commands in the VM itself. udev starts the systemd
 service when the first port appears. tini is the minimal init of nested application WPARs.
CONTROL
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"

# Reproducible: fixed times (the newest input's would change with every checkout), sorted members.
epoch=${SOURCE_DATE_EPOCH:-1700000000}
find "$root" -exec touch -h -d "@$epoch" {} +
mkdir -p "$outdir"
deb=$outdir/partagent_${version}_${arch}.deb
SOURCE_DATE_EPOCH=$epoch dpkg-deb --root-owner-group -Zxz --build "$root" "$work/out.deb" >/dev/null
mv "$work/out.deb" "$deb"
cp "$deb" "$outdir/.partagent.deb.new"
mv "$outdir/.partagent.deb.new" "$outdir/partagent.deb"
echo "deb: $deb ($(($(stat -c %s "$deb") / 1024)) KiB, sha256 $(sha256sum "$deb" | cut -c1-12))"
