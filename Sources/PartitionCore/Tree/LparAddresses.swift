import LibvirtKit
import PartitionModel

/// The addresses of a running LPAR, for the `ip` field: first those partctl's managed networks
/// leased to its adapters (`leased`), then libvirt's DHCP leases (its own networks, `default`
/// among them), else the host's ARP table (bridges). Link-local and loopback addresses are left
/// out; IPv4 first. A stopped LPAR is never asked: its `ip` is null at no cost.
enum LparAddresses {
    static func field(_ domain: LibvirtDomain, active: Bool, leased: [String] = []) -> FieldValue {
        guard active else { return .none }
        var addresses = (try? domain.interfaceAddresses(source: .lease)) ?? []
        if addresses.isEmpty { addresses = (try? domain.interfaceAddresses(source: .arp)) ?? [] }
        let shown = ordered((leased + addresses.map(\.address)).filter(isGlobal))
        return shown.isEmpty ? .none : .string(shown.joined(separator: " "))
    }

    /// Each address once, IPv4 before IPv6, in the order libvirt gave them.
    static func ordered(_ addresses: [String]) -> [String] {
        var seen: Set<String> = []
        let unique = addresses.filter { seen.insert($0).inserted }
        return unique.filter { !$0.contains(":") } + unique.filter { $0.contains(":") }
    }

    static func isGlobal(_ address: String) -> Bool {
        let lower = address.lowercased()
        return !(lower.hasPrefix("127.") || lower.hasPrefix("169.254.") || lower == "::1" || lower.hasPrefix("fe80:"))
    }
}

/// Each partition's leased addresses on every managed network, read on first need and kept for
/// the one listing (a tree of many LPARs reads each lease book once).
final class LeasedAddresses {
    private let leases: PartitionLeases
    private var byPartition: [String: [String]]?

    /// `here` false: the LPARs are another machine's, whose leases are not in this machine's books.
    init(leases: PartitionLeases, here: Bool = true) {
        self.leases = leases
        if !here { byPartition = [:] }
    }

    func addresses(of partition: String) -> [String] {
        if byPartition == nil { byPartition = leases.allAddresses() }
        return byPartition?[partition] ?? []
    }
}
