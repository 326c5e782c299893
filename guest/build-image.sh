#!/bin/sh
# Builds partctl's guest image: Debian's cloud kernel plus an initramfs with busybox, the modules of
# guest/modules.list (and their dependencies), guest/init and guest/rootfs, and optionally the in-guest
# agent. Installs vmlinuz, vmlinux (the same kernel uncompressed, booted at its PVH entry), initrd.img
# and VERSION into $PARTCTL_ROOT/images/partctl-guest.
#
# Run as root (make guest-image). Environment:
#   PARTAGENT=/path/to/partagent  copy the agent and the shared libraries it needs into the image
#   PARTCTL_SUPERVISOR=/path      the WPAR supervisor the agent's engine starts (with PARTAGENT)
#   GUEST_KERNEL_PACKAGE          the kernel's meta package (default linux-image-cloud-amd64)
#   GUEST_INITRD_COMPRESSION      none (default: fastest boot under TCG), zstd or gzip
#   PARTCTL_ROOT                  default /var/lib/partctl
# The .deb is cached in guest/build/cache; nothing is rebuilt while the inputs hash stays the same.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
build=$here/build
dest=${PARTCTL_ROOT:-/var/lib/partctl}/images/partctl-guest
kernel_meta=${GUEST_KERNEL_PACKAGE:-linux-image-cloud-amd64}
busybox=/bin/busybox
# The minimal init of application WPARs nested in the guest (init: true), as on the host.
tini=/usr/bin/tini-static
agent=${PARTAGENT:-}
supervisor=${PARTCTL_SUPERVISOR:-}

say() { echo "guest-image: $*"; }
die() {
    echo "guest-image: error: $*" >&2
    exit 1
}
sha() { sha256sum "$1" | cut -d' ' -f1; }

# Writes the ELF kernel inside bzImage $1 to $2: the payload is found by its compressor's magic and
# unpacked until it starts with an ELF header. Returns 1 when no known format yields one.
extract_vmlinux() {
    for format in lz4 zstd gzip xz; do
        case $format in
            lz4) magic='\x02\x21\x4c\x18' unpack="lz4 -dc" ;;
            zstd) magic='\x28\xb5\x2f\xfd' unpack="zstd -dcq" ;;
            gzip) magic='\x1f\x8b\x08' unpack="gzip -dc" ;;
            xz) magic='\xfd\x37\x7a\x58\x5a\x00' unpack="xz -dc" ;;
        esac
        command -v "${unpack%% *}" >/dev/null || continue
        for offset in $(grep -obUaP "$magic" "$1" | head -n 3 | cut -d: -f1); do
            # The payload is followed by other data: the unpacker's complaint about it is expected.
            tail -c +$((offset + 1)) "$1" | $unpack >"$2" 2>/dev/null || true
            [ "$(head -c 4 "$2" | od -An -c | tr -d ' ')" = '177ELF' ] && return 0
        done
    done
    rm -f "$2"
    return 1
}

[ "$(id -u)" = 0 ] || die "run as root (device nodes go into the initramfs, the image into $dest)"
for tool in apt-get apt-cache dpkg-deb depmod cpio sha256sum flock; do
    command -v "$tool" >/dev/null || die "$tool is missing; run scripts/setup.sh"
done
[ -x "$busybox" ] || die "$busybox is missing; install busybox-static (scripts/setup.sh)"
[ -x "$tini" ] || die "$tini is missing; install tini (scripts/setup.sh)"
if ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is linked dynamically; install busybox-static instead of busybox"
fi
if [ -n "$agent" ]; then
    [ -f "$agent" ] && [ -x "$agent" ] || die "PARTAGENT=$agent is not an executable file"
fi
if [ -n "$supervisor" ]; then
    [ -n "$agent" ] || die "PARTCTL_SUPERVISOR is only of use with PARTAGENT"
    [ -f "$supervisor" ] && [ -x "$supervisor" ] || die "PARTCTL_SUPERVISOR=$supervisor is not an executable file"
fi

mkdir -p "$build/cache"
exec 9>"$build/.lock"
flock 9

# --- The kernel package: resolve the meta package, reuse the cached .deb when its hash matches. ---
# apt-cache takes over a second per call here, so its answer is kept in guest/build/apt-resolution
# until apt's lists or sources change.
deb=""
apt_state=$(
    {
        echo "$kernel_meta"
        ls -l --time-style=+%s /var/lib/apt/lists /etc/apt/sources.list.d /etc/apt/preferences.d \
            /etc/apt/sources.list /etc/apt/preferences 2>/dev/null
    } | sha256sum | cut -d' ' -f1
)
resolution=$build/apt-resolution
if [ "$(sed -n 1p "$resolution" 2>/dev/null)" = "$apt_state" ]; then
    # shellcheck disable=SC2046 # package, file and hash: three words without spaces
    set -- $(sed -n 2p "$resolution")
    kernel_pkg=$1 file=$2 want=$3
else
    kernel_pkg=$(apt-cache depends "$kernel_meta" 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
    file=""
    want=""
    if [ -n "$kernel_pkg" ]; then
        show=$(apt-cache show --no-all-versions "$kernel_pkg")
        file=$(echo "$show" | sed -n 's/^Filename: //p' | head -n 1)
        want=$(echo "$show" | sed -n 's/^SHA256: //p' | head -n 1)
        [ -n "$file" ] && [ -n "$want" ] || die "apt knows $kernel_pkg but not its file or hash"
        printf '%s\n%s %s %s\n' "$apt_state" "$kernel_pkg" "$file" "$want" >"$resolution"
    fi
fi
if [ -n "$kernel_pkg" ]; then
    deb=$build/cache/${file##*/}
    if [ -f "$deb" ] && [ "$(sha "$deb")" = "$want" ]; then
        say "kernel package ${deb##*/} (cached)"
    else
        say "downloading $kernel_pkg"
        # apt drops root to _apt for downloads: give it a directory it can write.
        tmp=$(mktemp -d)
        chown _apt "$tmp" 2>/dev/null || true
        (cd "$tmp" && apt-get download -q "$kernel_pkg" >/dev/null) || {
            rm -rf "$tmp"
            die "apt-get download $kernel_pkg failed (stale package lists? run apt-get update)"
        }
        got=$(ls "$tmp"/*.deb)
        [ "$(sha "$got")" = "$want" ] || die "downloaded ${got##*/} does not match apt's SHA256"
        rm -f "$build"/cache/"$kernel_pkg"_*.deb
        mv "$got" "$deb"
        rm -rf "$tmp"
    fi
    deb_sha=$want
else
    # apt's lists do not know the package (no apt-get update yet, or offline): use the newest cached one.
    deb=$(ls "$build"/cache/linux-image-*.deb 2>/dev/null | sort -V | tail -n 1)
    [ -n "$deb" ] || die "apt cannot resolve $kernel_meta and no kernel package is cached; run apt-get update"
    say "apt cannot resolve $kernel_meta; using cached ${deb##*/}"
    deb_sha=$(sha "$deb")
fi
kernel_pkg_version=$(dpkg-deb -f "$deb" Package Version | sed 's/^[^:]*: //' | tr '\n' ' ' | sed 's/ $//')
busybox_sha=$(sha "$busybox")
agent_sha=none
[ -z "$agent" ] || agent_sha=$(sha "$agent")
supervisor_sha=none
[ -z "$supervisor" ] || supervisor_sha=$(sha "$supervisor")

# --- The inputs hash: everything that goes into the image. ---
agent_libs=""
if [ -n "$agent" ]; then
    # The loader and every library the agent needs, as absolute paths; a static binary has none.
    for program in $agent $supervisor; do
        ldd "$program" >/dev/null 2>&1 || continue
        ! ldd "$program" | grep -q 'not found' || die "$program needs libraries this host lacks: $(ldd "$program" | grep 'not found' | tr -s ' \t\n' ' ')"
        agent_libs="$agent_libs $(ldd "$program" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p')"
    done
    agent_libs=$(echo "$agent_libs" | tr ' ' '\n' | sed '/^$/d' | sort -u)
fi
# Host programs the guest needs, with their libraries (as the agent's): nft for the guest network's
# NAT and forwards (partagent runs it).
programs=/usr/sbin/nft
program_libs=""
for program in $programs; do
    [ -x "$program" ] || die "$program is missing; install nftables (scripts/setup.sh)"
    ! ldd "$program" | grep -q 'not found' || die "$program needs libraries this host lacks"
    program_libs="$program_libs $(ldd "$program" | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) .*/\1/p')"
done
program_libs=$(echo "$program_libs" | tr ' ' '\n' | sed '/^$/d' | sort -u)
inputs=$(
    {
        echo "kernel $deb_sha"
        echo "busybox $busybox_sha"
        echo "tini $(sha "$tini")"
        echo "build-image.sh $(sha "$here/build-image.sh")"
        echo "init $(sha "$here/init")"
        echo "build-rootfs.sh $(sha "$here/../scripts/build-rootfs.sh")"
        echo "modules.list $(sha "$here/modules.list")"
        echo "modules-network.list $(sha "$here/modules-network.list")"
        for program in $programs $program_libs; do echo "program $program $(sha "$program")"; done
        echo "compression ${GUEST_INITRD_COMPRESSION:-none}"
        (cd "$here/rootfs" && find . -type f | LC_ALL=C sort | while read -r f; do
            echo "rootfs/$f $(sha "$f") $(stat -c %a "$f")"
        done)
        if [ -n "$agent" ]; then
            echo "partagent $agent_sha"
            echo "partctl-supervisor $supervisor_sha"
            for lib in $agent_libs; do echo "lib $lib $(sha "$lib")"; done
        fi
    } | sha256sum | cut -d' ' -f1
)

out=$build/out
installed_inputs=$(sed -n 's/^inputs=//p' "$dest/VERSION" 2>/dev/null || true)
if [ "$installed_inputs" = "$inputs" ] && [ -f "$dest/vmlinuz" ] && [ -f "$dest/vmlinux" ] && [ -f "$dest/initrd.img" ]; then
    say "up to date in $dest (inputs $inputs)"
    exit 0
fi

if [ "$(cat "$build/stamp" 2>/dev/null || true)" = "$inputs" ] &&
    [ -f "$out/vmlinuz" ] && [ -f "$out/vmlinux" ] && [ -f "$out/initrd.img" ] && [ -f "$out/VERSION" ]; then
    say "build is current (inputs $inputs)"
else
    rm -f "$build/stamp"

    # --- Kernel and modules. ---
    say "extracting ${deb##*/}"
    rm -rf "$build/kernel"
    dpkg-deb -x "$deb" "$build/kernel"
    kernel=$(ls "$build/kernel/lib/modules")
    [ "$(echo "$kernel" | wc -l)" = 1 ] || die "expected one kernel in ${deb##*/}, found: $kernel"
    moddir=$build/kernel/lib/modules/$kernel
    config=$build/kernel/boot/config-$kernel
    depmod -b "$build/kernel" "$kernel"

    # Every listed module and its dependencies, dependencies first (a depth-first walk of modules.dep).
    resolve_modules() {
        grep -v '^[[:space:]]*\(#\|$\)' "$1" | awk -v depfile="$moddir/modules.dep" \
            -v builtin="$moddir/modules.builtin" '
            function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p); return p }
            function visit(p,   n, i, d) {
                if (p in seen) return
                seen[p] = 1
                n = split(deps[p], d, " ")
                for (i = 1; i <= n; i++) visit(d[i])
                print p
            }
            BEGIN {
                while ((getline line < depfile) > 0) {
                    split(line, parts, ":")
                    deps[parts[1]] = parts[2]
                    path[base(parts[1])] = parts[1]
                }
                while ((getline line < builtin) > 0) inkernel[base(line)] = 1
            }
            {
                name = $1; gsub(/-/, "_", name)
                if (name in path) visit(path[name])
                else if (name in inkernel) print "guest-image: " name " is built into the kernel" > "/dev/stderr"
                else { print "guest-image: error: no module " name " in the kernel" > "/dev/stderr"; failed = 1 }
            }
            END { exit failed }'
    }
    modules=$(resolve_modules "$here/modules.list") || die "a module of guest/modules.list is not in kernel $kernel"
    # The network modules are shipped but loaded on demand (by partagent, with modprobe), not at boot.
    network_modules=$(resolve_modules "$here/modules-network.list") ||
        die "a module of guest/modules-network.list is not in kernel $kernel"
    module_names=$(for m in $modules; do basename "$m" .ko; done | tr '\n' ' ' | sed 's/ $//')
    network_module_names=$(for m in $network_modules; do basename "$m" .ko; done | tr '\n' ' ' | sed 's/ $//')
    say "kernel $kernel, modules: $module_names; on demand: $network_module_names"

    # The initramfs is stored uncompressed by default: under TCG the guest kernel needs 0.6-0.8 s
    # to unzstd 9 MiB into 31 MiB and 0.1-0.15 s to copy the 31 MiB plain archive, while QEMU loads
    # either in a few milliseconds. GUEST_INITRD_COMPRESSION=zstd|gzip trades boot time for disk space.
    compression=${GUEST_INITRD_COMPRESSION:-none}
    case "$compression" in
        none) compress=cat ;;
        zstd)
            grep -q '^CONFIG_RD_ZSTD=y' "$config" && command -v zstd >/dev/null ||
                die "kernel $kernel cannot unpack a zstd initramfs here (CONFIG_RD_ZSTD, zstd)"
            compress="zstd -q -19 -T0"
            ;;
        gzip)
            grep -q '^CONFIG_RD_GZIP=y' "$config" || die "kernel $kernel cannot unpack a gzip initramfs"
            compress="gzip -9 -n"
            ;;
        *) die "GUEST_INITRD_COMPRESSION=$compression: use none, zstd or gzip" ;;
    esac

    # --- The initramfs tree. ---
    root=$build/root
    rm -rf "$root"
    mkdir -p "$root"
    cd "$root"
    mkdir -p bin sbin usr/bin usr/sbin usr/libexec/partctl etc/partctl lib/modules dev proc sys run tmp root
    chmod 1777 tmp
    chmod 0700 root
    install -m 0755 "$busybox" bin/busybox
    install -m 0755 "$tini" usr/bin/tini-static
    set -f # applet names such as [ and [[ are no patterns
    for applet in $("$busybox" --list-full); do
        case "$applet" in */*) [ -e "$applet" ] || ln -s /bin/busybox "$applet" ;; esac
    done
    set +f
    cp -R "$here/rootfs/." .
    install -m 0755 "$here/init" init
    # The kernel opens /dev/console before /init runs, and devtmpfs is not mounted yet.
    mknod -m 0600 dev/console c 5 1
    mknod -m 0666 dev/null c 1 3

    # The root file system of system WPARs nested in the guest, at the path the host uses, built by
    # the same script as the host's, so profiles/wpar-system.yaml works unchanged in an LPAR. Its
    # busybox is a hard link to the image's own: the archive holds the binary once.
    PARTCTL_ROOT=$root/var/lib/partctl sh "$here/../scripts/build-rootfs.sh" >/dev/null
    ln -f bin/busybox var/lib/partctl/rootfs/busybox/bin/busybox

    for m in $modules $network_modules; do
        mkdir -p "lib/modules/$kernel/${m%/*}"
        cp "$moddir/$m" "lib/modules/$kernel/$m"
    done
    cp "$moddir/modules.builtin" "$moddir/modules.builtin.modinfo" "$moddir/modules.order" "lib/modules/$kernel/"
    depmod -b "$root" "$kernel" # so that busybox modprobe works in the guest too
    {
        echo "# Load order (dependencies first), written by guest/build-image.sh."
        for m in $modules; do echo "$m"; done
    } >etc/partctl/modules

    if [ -n "$agent" ]; then
        say "adding partagent $agent"
        install -m 0755 "$agent" usr/sbin/partagent
        # The engine looks for its supervisor next to the running executable.
        [ -z "$supervisor" ] || install -m 0755 "$supervisor" usr/sbin/partctl-supervisor
        for lib in $agent_libs; do
            mkdir -p ".${lib%/*}"
            cp -L "$lib" ".$lib"
        done
    fi

    for program in $programs; do
        mkdir -p ".${program%/*}"
        install -m 0755 "$program" ".$program"
    done
    for lib in $program_libs; do
        mkdir -p ".${lib%/*}"
        cp -L "$lib" ".$lib"
    done

    busybox_version=$("$busybox" 2>&1 | sed -n '1s/^BusyBox \(v[^ ]*\( ([^)]*)\)\?\).*/\1/p')
    {
        echo "image=partctl-guest"
        echo "kernel=$kernel"
        echo "kernel_package=$kernel_pkg_version"
        echo "busybox=$busybox_version"
        echo "partagent=$agent_sha"
        echo "partctl-supervisor=$supervisor_sha"
        echo "inputs=$inputs"
    } >etc/partctl/image

    # --- Pack: sorted names, owner root, fixed times, so equal inputs give an equal archive. ---
    mkdir -p "$out"
    find . -exec touch -h -d @0 {} +
    find . -print0 | LC_ALL=C sort -z | cpio --quiet --null -o -H newc -R 0:0 --reproducible |
        $compress >"$out/initrd.img.new"
    mv "$out/initrd.img.new" "$out/initrd.img"
    cp "$build/kernel/boot/vmlinuz-$kernel" "$out/vmlinuz"
    # vmlinux, what lpar-minimal boots: the uncompressed ELF kernel, which QEMU starts at its PVH entry
    # point (CONFIG_PVH), skipping the firmware's real-mode kernel setup and the kernel's own
    # decompression: 0.1-0.25 s less under TCG. Where it cannot be had, a copy of the bzImage, which
    # QEMU boots the usual way under any name.
    kernel_boot=bzimage
    if grep -q '^CONFIG_PVH=y' "$config" && extract_vmlinux "$out/vmlinuz" "$out/vmlinux"; then
        kernel_boot=pvh
    else
        cp "$out/vmlinuz" "$out/vmlinux"
    fi
    cd "$here"

    {
        cat "$root/etc/partctl/image"
        echo "kernel_deb=${deb##*/}"
        echo "kernel_deb_sha256=$deb_sha"
        echo "busybox_sha256=$busybox_sha"
        echo "modules=$module_names"
        echo "network_modules=$network_module_names"
        echo "programs=$programs"
        echo "initrd_compression=$compression"
        echo "vmlinuz_sha256=$(sha "$out/vmlinuz")"
        echo "vmlinux_sha256=$(sha "$out/vmlinux")"
        echo "vmlinux_boot=$kernel_boot"
        echo "initrd_sha256=$(sha "$out/initrd.img")"
        echo "initrd_bytes=$(stat -c %s "$out/initrd.img")"
        echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    } >"$out/VERSION"
    echo "$inputs" >"$build/stamp"
    say "built initrd.img ($(($(stat -c %s "$out/initrd.img") / 1024)) KiB, $compression)"
fi

# --- Install: each file replaced atomically, VERSION last so it never names files not yet there. ---
install -d -m 0755 "$dest"
for f in vmlinuz vmlinux initrd.img VERSION; do
    install -m 0644 "$out/$f" "$dest/.$f.new"
    mv "$dest/.$f.new" "$dest/$f"
done
say "installed $dest ($(sed -n 's/^kernel=//p' "$dest/VERSION"))"
