#!/bin/sh
# Creates the host bridge that bridge-mode WPARs attach to (profile `network: bridge`), idempotently:
# a second run only checks. It touches this one bridge and nothing else: no NAT, no IP forwarding,
# no firewall rules. WPARs on it reach the host's bridge address and each other, nothing beyond.
#
#   PARTCTL_BRIDGE          bridge name      (default partctl0)
#   PARTCTL_BRIDGE_ADDRESS  host address     (default 10.77.0.1/24; WPARs take others in the subnet)
set -eu

BRIDGE=${PARTCTL_BRIDGE:-partctl0}
ADDRESS=${PARTCTL_BRIDGE_ADDRESS:-10.77.0.1/24}

fail() {
    echo "setup-bridge: $*" >&2
    exit 1
}

command -v ip >/dev/null 2>&1 || fail "the ip command (iproute2) is needed"

if ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip -d -o link show dev "$BRIDGE" | grep -q ' bridge ' ||
        fail "$BRIDGE exists but is not a bridge; remove it or set PARTCTL_BRIDGE to another name"
else
    # The subnet must not already be routed through another interface, or the host would reach
    # it two ways.
    taken=$(ip -4 route show root "$ADDRESS" | sed -n 's/.* dev \([^ ]*\).*/\1/p' | head -n 1)
    if [ -n "$taken" ]; then
        fail "the subnet of $ADDRESS is already routed via $taken; set PARTCTL_BRIDGE_ADDRESS to a free one"
    fi
    ip link add name "$BRIDGE" type bridge
    echo "setup-bridge: created bridge $BRIDGE"
fi

if ! ip -4 -o addr show dev "$BRIDGE" | grep -q " inet $ADDRESS "; then
    ip addr add "$ADDRESS" dev "$BRIDGE"
fi
ip link set dev "$BRIDGE" up

echo "setup-bridge: bridge $BRIDGE is up with $ADDRESS (no NAT, no forwarding: WPARs on it reach the host at ${ADDRESS%/*} and each other only)"
