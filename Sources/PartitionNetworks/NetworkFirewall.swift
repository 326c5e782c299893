import Glibc
import PartitionModel
import SystemKit

/// netcore's two chains of partctl's nftables table `ip partctl` (docs/networks.md), rendered from
/// every managed network and replaced as one `nft -f` transaction: `network_postrouting`
/// (masquerade of NAT networks leaving by another interface) and `network_forward` (DNATed flows
/// first, then no forwarding between two managed bridges, nor out of or into an isolated one).
/// Other chains of the table belong to other parts of partctl and are never touched here.
public enum NetworkFirewall {
    public static let table = "ip partctl"
    public static let postrouting = "network_postrouting"
    public static let forward = "network_forward"

    /// The script for these networks. With none, both chains are deleted (added first, so the
    /// delete cannot fail on a chain that is missing).
    public static func render(_ networks: [ManagedNetwork]) -> String {
        // Names go into the script quoted: only names that passed the interface rules.
        let usable = networks.filter { NetworkNames.problem(bridge: $0.bridge, of: $0.name) == nil }
            .sorted { $0.name < $1.name }
        var lines = [
            "add table \(table)",
            "add chain \(table) \(postrouting) { type nat hook postrouting priority srcnat; policy accept; }",
            "add chain \(table) \(forward) { type filter hook forward priority filter; policy accept; }",
        ]
        guard !usable.isEmpty else {
            lines += ["delete chain \(table) \(postrouting)", "delete chain \(table) \(forward)"]
            return lines.joined(separator: "\n") + "\n"
        }
        lines += ["flush chain \(table) \(postrouting)", "flush chain \(table) \(forward)"]
        for network in usable where network.nat {
            lines.append("add rule \(table) \(postrouting) ip saddr \(network.subnet) ip daddr != \(network.subnet) oifname != \(quoted(network.bridge)) masquerade")
        }
        // Published ports (the forwards' DNAT) pass whatever the isolation below says.
        lines.append("add rule \(table) \(forward) ct status dnat accept")
        for network in usable {
            let others = usable.filter { $0.bridge != network.bridge }.map { quoted($0.bridge) }
            if !others.isEmpty {
                lines.append("add rule \(table) \(forward) iifname \(quoted(network.bridge)) oifname { \(others.joined(separator: ", ")) } drop")
            }
            if !network.nat {
                lines.append("add rule \(table) \(forward) iifname \(quoted(network.bridge)) oifname != \(quoted(network.bridge)) drop")
                lines.append("add rule \(table) \(forward) oifname \(quoted(network.bridge)) iifname != \(quoted(network.bridge)) drop")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func quoted(_ name: String) -> String { "\"\(name)\"" }

    /// Makes the kernel's chains those of `networks`, unless the script last applied in this boot
    /// is the same and the chains are there (cheap: one `nft list chain`). `force` applies anyway.
    /// Under the flock of `<root>/.firewall.lock`.
    public static func apply(_ networks: [ManagedNetwork], root: String, force: Bool = false) throws(PartitionError) {
        let script = render(networks)
        let lock = try PartitionLock.acquire(path: "\(root)/.firewall.lock", wait: true, timeout: 30)
        defer { withExtendedLifetime(lock) {} }
        let applied = "\(root)/.network.nft"
        let stamp = "\(root)/.network.nft.boot"
        if !force, FileIO.readText(applied, limit: 1 << 20) == script,
           FileIO.readText(stamp, limit: 256) == BootID.current(), chainsMatch(hasRules: script.contains("flush chain")) {
            return
        }
        try AtomicFile.write(Array(script.utf8), to: applied, mode: 0o600, durable: false)
        try HostProgram(["nft", "-f", applied]).check("set partctl's network rules (nft -f \(applied))")
        try AtomicFile.write(Array(BootID.current().utf8), to: stamp, mode: 0o600, durable: false)
    }

    /// Whether the forward chain is there (with networks) or absent (without).
    private static func chainsMatch(hasRules: Bool) -> Bool {
        let present = (try? HostProgram(["nft", "list", "chain", "ip", "partctl", forward]).run(limit: 1 << 16).status) == 0
        return present == hasRules
    }
}
