import Foundation
import Glibc
import PartitionModel
import SystemKit

/// partctl's managed networks on disk (docs/networks.md): `<root>/<name>/network.json` each, root
/// being `$PARTCTL_ROOT/networks` (0711). `partctl0` is written with the defaults on first use.
/// Creating and removing hold the flock of `<root>/.lock`; the lease book of a network holds
/// `<root>/<name>/.lock`.
public struct NetworkRegistry: Sendable {
    public let root: String
    /// The process environment's PARTCTL_BRIDGE_ADDRESS (as scripts/setup-bridge.sh took it),
    /// used once: when partctl0 is first written.
    public var bridgeAddress: String?

    public init(root: String) {
        self.root = root
        self.bridgeAddress = getenv("PARTCTL_BRIDGE_ADDRESS").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `$PARTCTL_ROOT/networks` for a state root.
    public static func root(stateRoot: String) -> String { stateRoot + "/networks" }

    public func directory(of name: String) -> String { "\(root)/\(name)" }
    public func definitionPath(of name: String) -> String { "\(directory(of: name))/network.json" }

    static let definitionLimit = 1 << 16

    // MARK: Reading

    /// Every managed network, partctl0 first (written now when missing), then by name.
    public func list() throws(PartitionError) -> [ManagedNetwork] {
        var networks = [try defaultNetwork()]
        for name in try storedNames() where name != ManagedNetwork.defaultName {
            if let network = try read(name) { networks.append(network) }
        }
        return networks
    }

    /// The managed network `name`, or nil when there is none (partctl0 always is: made on first use).
    public func network(named name: String) throws(PartitionError) -> ManagedNetwork? {
        if name == ManagedNetwork.defaultName { return try defaultNetwork() }
        guard NetworkNames.problem(name: name) == nil else { return nil }
        return try read(name)
    }

    /// The managed network whose bridge is `bridge` (a profile's old `{bridge: partctl0, ...}`).
    public func network(onBridge bridge: String) throws(PartitionError) -> ManagedNetwork? {
        try list().first { $0.bridge == bridge }
    }

    // MARK: Changing

    /// Adds a network. Refused, with one line and nothing written (.invalidArgument): a bad name or
    /// bridge name, a gateway that is not an address of the subnet, a name or bridge taken (by a
    /// managed network, a libvirt network in `foreign`, or a host interface), a subnet that
    /// overlaps another managed network, a libvirt network or a route of the host.
    public func create(_ network: ManagedNetwork, foreign: [ForeignNetwork] = []) throws(PartitionError) {
        try ensureRoot()
        let lock = try registryLock()
        defer { withExtendedLifetime(lock) {} }
        var existing = [try defaultNetwork(locked: true)]
        for name in try storedNames() where name != ManagedNetwork.defaultName {
            if let other = try read(name) { existing.append(other) }
        }
        if let problem = Self.problem(creating: network, existing: existing, foreign: foreign,
                                      routes: HostNetworkFacts.routes(), interfaceExists: HostNetworkFacts.interfaceExists) {
            throw PartitionError(.invalidArgument, problem)
        }
        try write(network)
    }

    /// Why `network` cannot be created beside these, or nil when it can. Pure: tests give it hosts.
    public static func problem(creating network: ManagedNetwork, existing: [ManagedNetwork], foreign: [ForeignNetwork],
                               routes: [HostRoute], interfaceExists: (String) -> Bool) -> String? {
        if let problem = NetworkNames.problem(name: network.name) { return problem }
        if let problem = NetworkNames.problem(bridge: network.bridge, of: network.name) { return problem }
        let subnet = network.subnet
        guard (8...30).contains(subnet.prefixLength) else {
            return "The subnet \(subnet) has a /\(subnet.prefixLength) prefix; a managed network takes /8 to /30."
        }
        guard subnet.hosts.contains(network.gateway) else {
            return "The gateway \(network.gateway) is not a host address of \(subnet)."
        }
        if existing.contains(where: { $0.name == network.name }) {
            return "The network '\(network.name)' exists already."
        }
        if let other = foreign.first(where: { $0.name == network.name }) {
            return "The name '\(network.name)' is taken by libvirt's network '\(other.name)'; choose another."
        }
        if let other = existing.first(where: { $0.bridge == network.bridge }) {
            return "The bridge \(network.bridge) is the bridge of the network '\(other.name)'; give another with --bridge."
        }
        if let other = foreign.first(where: { $0.bridge == network.bridge }) {
            return "The bridge \(network.bridge) is the bridge of libvirt's network '\(other.name)'; give another with --bridge."
        }
        if interfaceExists(network.bridge) {
            return "The host has a network interface named \(network.bridge) already; give another bridge name with --bridge."
        }
        if let other = existing.first(where: { $0.subnet.overlaps(subnet) }) {
            return "The subnet \(subnet) overlaps \(other.subnet) of the network '\(other.name)'."
        }
        for other in foreign {
            if let overlapped = other.subnets.first(where: { $0.overlaps(subnet) }) {
                return "The subnet \(subnet) overlaps \(overlapped) of libvirt's network '\(other.name)'."
            }
        }
        // A managed network's own route was checked above, by its subnet.
        let managedBridges = Set(existing.map(\.bridge))
        if let route = routes.first(where: { $0.subnet.overlaps(subnet) && !managedBridges.contains($0.interface) }) {
            return "The subnet \(subnet) overlaps the host's route to \(route.subnet) via \(route.interface); choose a free subnet."
        }
        return nil
    }

    /// Removes the network's definition and its directory (leases, dnsmasq's files). Refused
    /// (.invalidArgument) while `users` (the partitions the caller found using it) or its lease book
    /// are not empty. `tearDown` runs under the registry's lock once the checks passed, before
    /// anything is deleted: the host side (NetworkHost.tearDown). partctl0 may be removed too; it
    /// comes back with the defaults on first use.
    public func remove(named name: String, users: [String] = [],
                       tearDown: (ManagedNetwork) throws(PartitionError) -> Void = { _ in }) throws(PartitionError) {
        try ensureRoot()
        let lock = try registryLock()
        defer { withExtendedLifetime(lock) {} }
        guard NetworkNames.problem(name: name) == nil, let network = try read(name) else {
            throw PartitionError(.notFound, "There is no managed network named '\(name.prefix(40))'; 'partctl network list' lists them.")
        }
        let leaseLock = try PartitionLock.acquire(path: "\(directory(of: name))/.lock", wait: true, timeout: 30)
        defer { withExtendedLifetime(leaseLock) {} }
        var using = Set(users)
        using.formUnion(try leasedPartitions(of: name))
        if !using.isEmpty {
            let sorted = using.sorted()
            throw PartitionError(.invalidArgument,
                "The network '\(name)' is used by \(sorted.joined(separator: ", ")); remove \(sorted.count == 1 ? "that partition" : "those partitions") (or move them to another network) first.")
        }
        try tearDown(network)
        try TreeRemoval.remove(directory(of: name))
    }

    /// The partitions with a lease in the network's lease book (leases.json, written by NetworkLeaseBook).
    public func leasedPartitions(of name: String) throws(PartitionError) -> [String] {
        Array(Set(try storedLeases(of: name).map(\.partition))).sorted()
    }

    /// The lease book as stored, read without its lock (a listing).
    public func storedLeases(of name: String) throws(PartitionError) -> [NetworkLease] {
        let path = "\(directory(of: name))/leases.json"
        guard let bytes = try AtomicFile.read(path, limit: 1 << 22) else { return [] }
        do {
            return try JSONDecoder().decode([NetworkLease].self, from: Data(bytes))
        } catch {
            throw PartitionError(.invalidState, "The lease book \(path) cannot be read: \(error).")
        }
    }

    // MARK: partctl0

    /// partctl0 as stored; written with the defaults (PARTCTL_BRIDGE_ADDRESS honoured) when missing.
    func defaultNetwork(locked: Bool = false) throws(PartitionError) -> ManagedNetwork {
        if let stored = try read(ManagedNetwork.defaultName) { return stored }
        let network = try Self.defaultDefinition(bridgeAddress: bridgeAddress)
        try ensureRoot()
        if locked {
            try write(network)
            return network
        }
        let lock = try registryLock()
        defer { withExtendedLifetime(lock) {} }
        if let stored = try read(ManagedNetwork.defaultName) { return stored }  // written meanwhile
        try write(network)
        return network
    }

    /// ManagedNetwork.default, or with the gateway and subnet of `bridgeAddress` ("10.77.0.1/24").
    public static func defaultDefinition(bridgeAddress: String?) throws(PartitionError) -> ManagedNetwork {
        guard let text = bridgeAddress else { return .default }
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let gateway = IPv4Address(String(parts[0])),
              let subnet = IPv4Subnet(cidr: text), subnet.hosts.contains(gateway) else {
            throw PartitionError(.invalidArgument,
                "PARTCTL_BRIDGE_ADDRESS '\(text.prefix(40))' is not a host address with a prefix of 8 to 30, like 10.77.0.1/24.")
        }
        var network = ManagedNetwork.default
        network.subnet = subnet
        network.gateway = gateway
        return network
    }

    // MARK: Files

    private func read(_ name: String) throws(PartitionError) -> ManagedNetwork? {
        let path = definitionPath(of: name)
        guard let bytes = try AtomicFile.read(path, limit: Self.definitionLimit) else { return nil }
        do {
            let network = try JSONDecoder().decode(ManagedNetwork.self, from: Data(bytes))
            guard network.name == name else {
                throw PartitionError(.invalidState, "\(path) names the network '\(network.name.prefix(40))', not '\(name)'.")
            }
            return network
        } catch let error as PartitionError {
            throw error
        } catch {
            throw PartitionError(.invalidState, "The network definition \(path) cannot be read: \(error).")
        }
    }

    private func write(_ network: ManagedNetwork) throws(PartitionError) {
        let directory = directory(of: network.name)
        if mkdir(directory, 0o711) != 0 && errno != EEXIST { throw POSIX.failure("create \(directory)") }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(network) } catch {
            throw PartitionError(.internal, "Could not encode the network '\(network.name)': \(error).")
        }
        try AtomicFile.write(Array(data) + [UInt8(ascii: "\n")], to: definitionPath(of: network.name), mode: 0o644)
    }

    /// The names of the stored networks, without writing partctl0 (completion, listings).
    public func definedNames() throws(PartitionError) -> [String] { try storedNames() }

    /// Names of the directories holding a network.json, sorted.
    private func storedNames() throws(PartitionError) -> [String] {
        guard let handle = opendir(root) else {
            if errno == ENOENT { return [] }
            throw POSIX.failure("read the directory \(root)")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard entry.pointee.d_type == UInt8(DT_DIR), NetworkNames.problem(name: name) == nil,
                  access(definitionPath(of: name), F_OK) == 0 else { continue }
            names.append(name)
        }
        return names.sorted()
    }

    /// The root, 0711: dnsmasq (running as nobody) passes through to a network's hosts/.
    func ensureRoot() throws(PartitionError) {
        if mkdir(root, 0o711) == 0 {
            chmod(root, 0o711)  // not narrowed by the umask
        } else if errno != EEXIST {
            throw POSIX.failure("create \(root)")
        }
    }

    func registryLock() throws(PartitionError) -> PartitionLock {
        try PartitionLock.acquire(path: "\(root)/.lock", wait: true, timeout: 30)
    }
}
