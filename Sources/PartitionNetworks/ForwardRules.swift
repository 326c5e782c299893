import PartitionModel

/// The nftables script of partctl's forward_* chains in table `ip partctl` (docs/forwards.md), one
/// transaction for `nft -f`: the table and chains are added when missing, then flushed and filled,
/// so the chains always hold exactly what forwards.json says and no other chain is touched (netcore
/// owns network_*, the guest's chains live in the guest). Without forwards the chains are deleted.
///
/// - forward_prerouting (nat, prerouting, dstnat): connections from outside and from partitions to
///   any of the host's own addresses on a forwarded port are DNATed to the partition.
/// - forward_output (nat, output, -100): the same for the host's own connections, 127.0.0.1 included.
/// - forward_postrouting (nat, postrouting, srcnat): a DNATed flow from 127.0.0.0/8 is masqueraded
///   (the partition could not answer 127.0.0.1), as is one that comes back out of the bridge it
///   came in by (a partition reaching another through the host's address: hairpin).
/// - forward_guard (filter, prerouting, raw): route_localnet=1 on a bridge would let a partition
///   send to the host's 127.0.0.1 services through it; such packets are dropped.
public enum ForwardRules {
    public static let table = "ip partctl"
    public static let chains: [(name: String, declaration: String)] = [
        ("forward_guard", "type filter hook prerouting priority raw; policy accept;"),
        ("forward_prerouting", "type nat hook prerouting priority dstnat; policy accept;"),
        ("forward_output", "type nat hook output priority -100; policy accept;"),
        ("forward_postrouting", "type nat hook postrouting priority srcnat; policy accept;"),
    ]

    /// `bridges`: the host interfaces the forwards' destinations are reached through (route_localnet
    /// is set on them), for the hairpin and guard rules.
    public static func script(_ forwards: [Forward], bridges: [String]) -> String {
        var lines = ["add table \(table)"]
        for chain in chains { lines.append("add chain \(table) \(chain.name) { \(chain.declaration) }") }
        // Nothing to forward or guard: the chains go (added first, so the delete never fails), and
        // nothing of the forwards is left in the ruleset.
        if forwards.isEmpty && bridges.filter(isInterfaceName).isEmpty {
            for chain in chains { lines.append("delete chain \(table) \(chain.name)") }
            return lines.joined(separator: "\n") + "\n"
        }
        for chain in chains { lines.append("flush chain \(table) \(chain.name)") }
        for forward in ForwardBook.sorted(forwards) {
            let rule = "fib daddr type local \(forward.proto.rawValue) dport \(forward.hostPort) dnat to \(forward.destination.address):\(forward.destination.port)"
            lines.append("add rule \(table) forward_prerouting \(rule)")
            lines.append("add rule \(table) forward_output \(rule)")
        }
        if !forwards.isEmpty {
            lines.append("add rule \(table) forward_postrouting ip saddr 127.0.0.0/8 ct status dnat masquerade")
        }
        for bridge in bridges.sorted() where Self.isInterfaceName(bridge) {
            lines.append("add rule \(table) forward_postrouting iifname \"\(bridge)\" oifname \"\(bridge)\" ct status dnat masquerade")
            lines.append("add rule \(table) forward_guard iifname \"\(bridge)\" ip daddr 127.0.0.0/8 drop")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Only names the kernel allows (and nothing nft's parser would take as syntax) reach the script.
    static func isInterfaceName(_ name: String) -> Bool {
        (1...15).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
        }
    }
}
