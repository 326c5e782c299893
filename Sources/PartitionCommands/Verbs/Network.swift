import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionNetworks
#if canImport(Glibc)
import Glibc
#endif

/// `partctl network list|show|create|remove`: partctl's managed networks and libvirt's (docs/networks.md).
struct NetworkVerb: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "network",
        abstract: "List, show, create and remove networks (partctl's managed bridges with DHCP and NAT, and libvirt's).",
        discussion: "Managed networks live in $PARTCTL_ROOT/networks; partctl0 (10.77.0.0/24, NAT) is made on first use.",
        subcommands: [NetworkList.self, NetworkShow.self, NetworkCreate.self, NetworkRemove.self])
}

/// The fields of a network, for `-F`, `--json` and the table.
enum NetworkFields {
    static let known: [(String, String)] = [
        ("name", "the network's name"), ("kind", "partctl (managed) or libvirt"), ("bridge", "the host bridge"),
        ("subnet", "its IPv4 subnet(s)"), ("gateway", "the host's address on it (managed)"),
        ("nat", "outbound NAT"), ("dhcp", "the dynamic DHCP range"), ("state", "up, down or inactive"),
        ("users", "partitions with a lease on it (managed networks)"),
    ]

    static func value(_ key: String, of network: NetworkCatalog.Listing) -> FieldValue {
        switch key {
        case "name": return .string(network.name)
        case "kind": return .string(network.kind)
        case "bridge": return network.bridge.map(FieldValue.string) ?? .none
        case "subnet": return network.subnet.map(FieldValue.string) ?? .none
        case "gateway": return network.gateway.map(FieldValue.string) ?? .none
        case "nat": return network.nat.map(FieldValue.bool) ?? .none
        case "dhcp": return network.dhcp.map(FieldValue.string) ?? .none
        case "state": return .string(network.state)
        case "users": return network.users.map { .string($0.joined(separator: ",")) } ?? .none
        default: return .none
        }
    }

    static func text(_ key: String, of network: NetworkCatalog.Listing) -> String {
        if key == "users", let users = network.users { return users.isEmpty ? "-" : users.joined(separator: ",") }
        return value(key, of: network).text
    }

    static func fieldList(_ spec: String) throws(PartitionError) -> (fields: [String], delimiter: String) {
        try TextOutput.fieldList(spec, known: known.map(\.0), noun: "a network")
    }

    static func json(_ network: NetworkCatalog.Listing, only: [String]?, detail: Bool = false) -> String {
        var out = "{"
        for (index, key) in (only ?? known.map(\.0)).enumerated() {
            if key == "users", let users = network.users {
                if index > 0 { out += "," }
                out += "\"users\":[" + users.map { user in var s = ""; JSONOutput.string(user, into: &s); return s }.joined(separator: ",") + "]"
                continue
            }
            JSONOutput.pair(key, value(key, of: network), into: &out, first: index == 0)
        }
        if detail && only == nil {
            JSONOutput.pair("dnsmasq_pid", network.dnsmasqPid.map { .int(Int($0)) } ?? .none, into: &out)
            out += ",\"leases\":[" + network.leases.map { lease in
                var item = "{"
                JSONOutput.pair("partition", .string(lease.partition), into: &item, first: true)
                JSONOutput.pair("mac", .string(lease.mac), into: &item)
                JSONOutput.pair("address", .string(lease.address.description), into: &item)
                JSONOutput.pair("fixed", .bool(lease.fixed), into: &item)
                return item + "}"
            }.joined(separator: ",") + "]"
            out += ",\"dynamic_leases\":[" + network.dynamicLeases.map { line in var s = ""; JSONOutput.string(line, into: &s); return s }.joined(separator: ",") + "]"
        }
        return out + "}"
    }

    static func warnLibvirtUnknown(_ reason: String?) {
        guard let reason else { return }
        StandardStream.write("partctl: network: warning: libvirt's networks are not listed: \(reason)\n", to: STDERR_FILENO)
    }
}

extension CompletionKind {
    /// Managed network names ($PARTCTL_ROOT/networks), partctl0 always.
    static var networkName: CompletionKind {
        .custom { _, _, prefix in
            NetworkCatalog.names(stateRoot: PartctlConfiguration.fromEnvironment().stateRoot).filter { $0.hasPrefix(prefix) }
        }
    }
}
