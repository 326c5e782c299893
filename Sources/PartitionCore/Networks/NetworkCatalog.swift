import PartitionModel
import PartitionNetworks
import SystemKit

/// `partctl network list|show|create|remove` below the command line: partctl's managed networks
/// (PartitionNetworks) and libvirt's, side by side.
public struct NetworkCatalog {
    let manager: PartitionManager
    public let registry: NetworkRegistry

    public init(manager: PartitionManager) {
        self.manager = manager
        self.registry = NetworkRegistry(root: NetworkRegistry.root(stateRoot: manager.configuration.stateRoot))
    }

    /// One network as listed: a managed one (kind partctl) or libvirt's.
    public struct Listing: Sendable {
        public var name: String
        public var kind: String
        public var bridge: String?
        public var subnet: String?
        public var gateway: String?
        public var nat: Bool?
        public var forwardMode: String?
        public var dhcp: String?
        /// up, down (a managed network whose bridge or dnsmasq is not running), inactive (libvirt's, not started).
        public var state: String
        /// The partitions with a lease (managed networks); nil for libvirt's (not counted).
        public var users: [String]?
        public var dnsmasqPid: Int32?
        public var leases: [NetworkLease] = []
        public var dynamicLeases: [String] = []
    }

    /// Every network; `libvirtUnknown` says why libvirt's could not be listed.
    public func list() throws(PartitionError) -> (networks: [Listing], libvirtUnknown: String?) {
        // Managed networks are the chosen system's machine's: another one's are listed there (over SSH).
        let here = try manager.onThisMachine("network list", "managed networks", optional: true)
        var listings = here ? try registry.list().map { network throws(PartitionError) in try listing(network) } : []
        do {
            listings += try LibvirtNetworkListing.all(manager.libvirt()).map(listing)
        } catch {
            return (listings, error.message)
        }
        return (listings, nil)
    }

    public func show(_ name: String) throws(PartitionError) -> (network: Listing, libvirtUnknown: String?) {
        if try manager.onThisMachine("network show", "managed networks", optional: true), let network = try registry.network(named: name) {
            var shown = try listing(network)
            shown.leases = try registry.storedLeases(of: name)
            shown.dynamicLeases = dynamicLeases(network)
            return (shown, nil)
        }
        let (all, unknown) = try list()
        if let found = all.first(where: { $0.name == name && $0.kind == "libvirt" }) { return (found, nil) }
        throw PartitionError(.notFound, "There is no network named '\(name.prefix(40))'; 'partctl network list' lists them."
                             + (unknown.map { " (libvirt's networks could not be read: \($0))" } ?? ""))
    }

    /// Creates a managed network and brings it up. Refusals (exit 2) leave nothing behind.
    public func create(name: String, subnet text: String, nat: Bool, bridge: String?) throws(PartitionError) -> Listing {
        _ = try manager.onThisMachine("network create", "managed networks")
        guard let subnet = IPv4Subnet(cidr: text) else {
            throw PartitionError(.invalidArgument, "--subnet '\(text.prefix(40))' is not a subnet of prefix /8 to /30, like 10.78.0.0/24.")
        }
        let network = ManagedNetwork(name: name, bridge: bridge ?? name, subnet: subnet,
                                     gateway: IPv4Address(subnet.network.value + 1), nat: nat)
        // libvirt's networks are checked when libvirtd answers; without it, only partctl's and the host's.
        let foreign = (try? LibvirtNetworkListing.all(manager.libvirt()).map(\.foreign)) ?? []
        try registry.create(network, foreign: foreign)
        try NetworkHost.ensureUp(network, root: registry.root)
        return try listing(network)
    }

    /// Removes a managed network (host side and definition); refused while partitions use it.
    public func remove(_ name: String) throws(PartitionError) {
        _ = try manager.onThisMachine("network remove", "managed networks")
        let root = registry.root
        try registry.remove(named: name) { (network) throws(PartitionError) in
            try NetworkHost.tearDown(network, root: root)
        }
    }

    /// Names of the managed networks, for completion: a directory listing, nothing written.
    public static func names(stateRoot: String) -> [String] {
        let registry = NetworkRegistry(root: NetworkRegistry.root(stateRoot: stateRoot))
        return Set([ManagedNetwork.defaultName] + ((try? registry.definedNames()) ?? [])).sorted()
    }

    private func listing(_ network: ManagedNetwork) throws(PartitionError) -> Listing {
        let state = NetworkHost.state(of: network, root: registry.root)
        let range = network.dynamicRange
        return Listing(name: network.name, kind: "partctl", bridge: network.bridge, subnet: network.subnet.description,
                       gateway: network.gateway.description, nat: network.nat, forwardMode: network.nat ? "nat" : nil,
                       dhcp: "\(range.lowerBound)-\(range.upperBound)", state: state.isUp ? "up" : "down",
                       users: try registry.leasedPartitions(of: network.name), dnsmasqPid: state.dnsmasqPid)
    }

    private func listing(_ network: LibvirtNetworkListing) -> Listing {
        Listing(name: network.name, kind: "libvirt", bridge: network.bridge,
                subnet: network.subnets.isEmpty ? nil : network.subnets.map(\.description).joined(separator: ","),
                gateway: nil, nat: network.forwardMode == "nat", forwardMode: network.forwardMode,
                dhcp: network.dhcpRanges.isEmpty ? nil : network.dhcpRanges.joined(separator: ","),
                state: network.active ? "up" : "inactive", users: nil, dnsmasqPid: nil)
    }

    /// dnsmasq's own leases (dnsmasq.leases: "EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID"), as "ADDRESS MAC HOSTNAME".
    private func dynamicLeases(_ network: ManagedNetwork) -> [String] {
        let path = "\(registry.directory(of: network.name))/dnsmasq.leases"
        guard let text = FileIO.readText(path, limit: 1 << 20) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 4 else { return nil }
            return "\(fields[2]) \(fields[1]) \(fields[3])"
        }
    }
}
