#!/bin/sh
# A second managed system on this machine, for the tests and benchmarks of many managed systems,
# relocation and restore (docs/testing.md). Root only.
#
#   second-system.sh up NAME      make it and start its libvirtd; prints "URI ADDRESS HOSTADDRESS"
#   second-system.sh stop NAME    stop its libvirtd (the namespaces stay: the system is unreachable)
#   second-system.sh start NAME   start its libvirtd again
#   second-system.sh down NAME    remove it: its QEMUs, daemons, files and network namespace
#   second-system.sh info NAME    prints "URI ADDRESS HOSTADDRESS" of a system that is up
#
# The system is a libvirtd of its own in its own mount, UTS and network namespaces (FACTS.md): a
# tmpfs on /run, private copies of /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
# /etc/libvirt (no domains, networks or pools of this machine; its own host_uuid), a private
# directory over partctl's pool (so that copied disks never land on this machine's files), its own
# host name (NAME), and a veth pair: the system answers at ADDRESS (qemu+tcp, no auth, reachable only
# from this machine through the veth), this machine is HOSTADDRESS from inside it. Everything else
# (the guest image under /var/lib/partctl/images, /usr, /dev) is shared, read-only in use.
set -eu
# The daemons started here live on: they must not inherit a descriptor of the caller's. The test lock
# that `flock /tmp/partctl-tests.lock` holds on descriptor 3 would never be freed, and Foundation's
# Process (the tests' TestProcess) waits until every holder of a descriptor it gave its child has
# closed it, so a test would hang as long as the daemons live. bash closes any descriptor number.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
for descriptor in /proc/$$/fd/*; do
    number=${descriptor##*/}
    if [ "$number" -gt 2 ]; then eval "exec $number>&-" 2>/dev/null || true; fi
done

usage() { echo "usage: $0 up|stop|start|down|info NAME" >&2; exit 2; }
[ $# -eq 2 ] || usage
action=$1 name=$2
case $name in ''|*[!a-z0-9_-]*) echo "second-system: '$name' is not a valid system name" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "second-system: must run as root" >&2; exit 1; }

state=/run/partctl-systems/$name             # host side: pids and addresses
private=/var/lib/partctl-systems/$name       # its private directories
netns=pcs-$name
pool=${PARTCTL_ROOT:-/var/lib/partctl}/pool

# A /30 of 10.79.0.0/16 per system, from a checksum of its name: .1 this machine, .2 the system.
index=$(( $(printf '%s' "$name" | cksum | cut -d' ' -f1) % 250 + 1 ))
host_address=10.79.$index.1
address=10.79.$index.2
host_veth=pcsh$index
peer_veth=pcsn$index
uri=qemu+tcp://$address/system

holder_pid() { cat "$state/holder.pid" 2>/dev/null || true; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
in_system() { nsenter -t "$(holder_pid)" -m -u -n "$@"; }

# Copies the directory tree of $1 (directories only, owners and modes kept) to $2.
copy_dirs() {
    (cd "$1" && find . -type d) | while read -r dir; do
        mkdir -p "$2/$dir"
        chown --reference="$1/$dir" "$2/$dir"
        chmod --reference="$1/$dir" "$2/$dir"
    done
}

start_daemon() {
    alive "$(cat "$state/libvirtd.pid" 2>/dev/null || true)" && return 0
    in_system virtlogd -d 2>/dev/null || true   # already running after a stop: its pid file is held
    setsid nsenter -t "$(holder_pid)" -m -u -n libvirtd --listen >>"$state/libvirtd.log" 2>&1 </dev/null &
    echo $! >"$state/libvirtd.pid"
    tries=0
    until virsh -q -c "$uri" version >/dev/null 2>&1; do
        tries=$((tries + 1))
        if [ $tries -gt 300 ] || ! alive "$(cat "$state/libvirtd.pid")"; then
            echo "second-system: libvirtd of $name did not answer at $uri; its log:" >&2
            tail -5 "$state/libvirtd.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

stop_daemon() {
    pid=$(cat "$state/libvirtd.pid" 2>/dev/null || true)
    alive "$pid" || return 0
    kill "$pid"
    tries=0
    while alive "$pid" && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
    # libvirtd waits for a running job (an incoming migration) before it exits: end it then, and
    # wait until it is gone, or a `start` right after would find it still alive and do nothing.
    if alive "$pid"; then
        kill -9 "$pid" 2>/dev/null || true
        tries=0
        while alive "$pid" && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
    fi
}

up() {
    if alive "$(holder_pid)"; then start_daemon; info; return; fi
    down_quietly
    mkdir -p "$state" && chmod 700 "$state" /run/partctl-systems
    mkdir -p "$private" && chmod 700 /var/lib/partctl-systems "$private"

    # Network: a namespace with one veth into it.
    ip netns add "$netns"
    ip link add "$host_veth" type veth peer name "$peer_veth"
    ip link set "$peer_veth" netns "$netns"
    ip addr add "$host_address/30" dev "$host_veth"
    ip link set "$host_veth" up
    ip -n "$netns" link set lo up
    ip -n "$netns" addr add "$address/30" dev "$peer_veth"
    ip -n "$netns" link set "$peer_veth" up
    ip -n "$netns" route add default via "$host_address"

    # Private state: the directory trees of this machine's libvirt, none of its files but the
    # configuration, and none of its domains, networks or storage pools.
    copy_dirs /var/lib/libvirt "$private/var-lib-libvirt"
    cp -a /var/cache/libvirt "$private/var-cache-libvirt"   # with QEMU's capabilities: no probe at start
    copy_dirs /var/log/libvirt "$private/var-log-libvirt"
    cp -a /etc/libvirt "$private/etc-libvirt"
    find "$private/etc-libvirt/qemu" "$private/etc-libvirt/storage" -name '*.xml' -delete
    find "$private/etc-libvirt/qemu" "$private/etc-libvirt/storage" -type l -delete
    mkdir -p "$private/pool" && chmod 711 "$private/pool"
    cat >>"$private/etc-libvirt/libvirtd.conf" <<EOF

# second-system.sh: a second managed system for partctl's tests, reachable only through its veth.
host_uuid = "$(cat /proc/sys/kernel/random/uuid)"
listen_tls = 0
listen_tcp = 1
listen_addr = "$address"
auth_tcp = "none"
EOF

    # The namespaces, held by a process that does nothing else, so that libvirtd can stop and start.
    setsid nsenter --net="/run/netns/$netns" unshare --mount --uts --propagation private sh -c '
        set -e
        private=$1 pool=$2 name=$3 ready=$4
        hostname "$name"
        # Its host name resolves inside it (libvirtd looks it up; with no DNS reachable from the
        # namespace every lookup would wait for the resolver'"'"'s timeout, 10 s, during each migration).
        { cat /etc/hosts; echo "127.0.1.1 $name"; } >"$private/hosts"
        mount --bind "$private/hosts" /etc/hosts
        mount -t tmpfs -o mode=755 tmpfs /run
        mkdir -p /run/libvirt /run/lock
        mount --bind "$private/var-lib-libvirt" /var/lib/libvirt
        mount --bind "$private/var-cache-libvirt" /var/cache/libvirt
        mount --bind "$private/var-log-libvirt" /var/log/libvirt
        mount --bind "$private/etc-libvirt" /etc/libvirt
        if [ -d "$pool" ]; then mount --bind "$private/pool" "$pool"; fi
        : >"$ready"
        exec sleep infinity' sh "$private" "$pool" "$name" "$private/ready" >"$state/holder.log" 2>&1 </dev/null &
    echo $! >"$state/holder.pid"
    tries=0
    until [ -e "$private/ready" ]; do
        tries=$((tries + 1))
        if [ $tries -gt 100 ] || ! alive "$(holder_pid)"; then
            echo "second-system: the namespaces of $name could not be made:" >&2
            cat "$state/holder.log" >&2
            exit 1
        fi
        sleep 0.05
    done
    start_daemon
    info
}

info() {
    alive "$(holder_pid)" || { echo "second-system: $name is not up" >&2; exit 1; }
    echo "$uri $address $host_address"
}

# Removes whatever a former run left: processes in its network namespace, the namespace, its files.
down_quietly() {
    if ip netns list 2>/dev/null | grep -q "^$netns\b"; then
        pids=$(ip netns pids "$netns" 2>/dev/null || true)
        [ -n "$pids" ] && kill $pids 2>/dev/null || true
        tries=0
        while [ -n "$(ip netns pids "$netns" 2>/dev/null)" ] && [ $tries -lt 100 ]; do sleep 0.1; tries=$((tries + 1)); done
        pids=$(ip netns pids "$netns" 2>/dev/null || true)
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
        tries=0
        while [ -n "$(ip netns pids "$netns" 2>/dev/null)" ] && [ $tries -lt 50 ]; do sleep 0.1; tries=$((tries + 1)); done
        ip netns del "$netns" 2>/dev/null || true
    fi
    holder=$(holder_pid)
    alive "$holder" && kill -9 "$holder" 2>/dev/null || true
    ip link del "$host_veth" 2>/dev/null || true
    rm -rf "$state" "$private"
}

case $action in
up) up ;;
stop) alive "$(holder_pid)" || { echo "second-system: $name is not up" >&2; exit 1; }; stop_daemon ;;
start) alive "$(holder_pid)" || { echo "second-system: $name is not up" >&2; exit 1; }; start_daemon ;;
down) down_quietly ;;
info) info ;;
*) usage ;;
esac
