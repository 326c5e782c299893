import LibvirtKit
import PartitionModel
import PartitionNetworks
import WorkloadEngine

/// The addresses this host's partitions hold on partctl's managed networks (docs/network-addresses.md):
/// a host WPAR's `eth0` and each LPAR adapter on a managed network get a lease in the network's
/// book at define (before anything else is made) and give it back at remove.
///
/// A lease whose partition no longer exists (a command killed between lease and definition, or
/// during remove) is dropped when it stands in the way: a define refused for an address or for a
/// full network looks for such leftovers and tries once more (define holds the names lock, so no
/// partition appears or goes meanwhile).
struct PartitionLeases {
    let configuration: PartctlConfiguration
    /// The managed system's libvirt, when it can be reached: to tell whether an LPAR still exists.
    let libvirt: () -> LibvirtConnection?

    var registry: NetworkRegistry { NetworkRegistry(root: NetworkRegistry.root(stateRoot: configuration.stateRoot)) }

    func book(_ network: ManagedNetwork) -> NetworkLeaseBook {
        NetworkLeaseBook(root: registry.root, network: network)
    }

    /// The managed network a profile names, or one line saying there is none.
    func network(named name: String) throws(PartitionError) -> ManagedNetwork {
        guard let network = try registry.network(named: name) else {
            throw PartitionError(.invalidArgument, "There is no managed network '\(name)'; 'partctl network list' lists them.")
        }
        return network
    }

    /// Whether `partition` still exists: a host WPAR's definition or a libvirt domain. Unknown
    /// (libvirt unreachable, a nested path) counts as existing: a lease is never dropped on a guess.
    func exists(_ partition: String) -> Bool {
        guard !partition.contains("/"), let name = try? PartitionName(partition) else { return true }
        if WparBackend(configuration: configuration).exists(name) { return true }
        guard let connection = libvirt() else { return true }
        do { return try connection.lookupDomain(name: partition) != nil } catch { return true }
    }

    func lease(_ network: ManagedNetwork, partition: String, mac: String, requested: IPv4Address?) throws(PartitionError) -> NetworkLease {
        let book = book(network)
        do {
            return try book.lease(partition: partition, mac: mac, requested: requested)
        } catch where error.code == .invalidArgument || error.code == .outOfRange {
            guard !(try book.dropLeases(ofPartitionsNotIn: exists)).isEmpty else { throw error }
            return try book.lease(partition: partition, mac: mac, requested: requested)
        }
    }

    // MARK: Host WPARs

    /// The bridge attachment the engine gets for a WPAR's network, with its address leased:
    /// `.managed` on the network's bridge, the next free address (or the profile's) and the
    /// network's gateway; the old `{bridge, address}` on a managed network's bridge keeps its own
    /// values but its address is recorded as a fixed lease, so no second partition takes it.
    /// nil: no bridge (`none`, `loopback`).
    func wparAttachment(_ name: String, network: WparNetwork) throws(PartitionError) -> BridgeAttachment? {
        switch network {
        case .none, .loopback:
            return nil
        case .managed(let managed):
            let network = try self.network(named: managed.name)
            let mac = MACAddress.wpar(name)
            let lease = try lease(network, partition: name, mac: mac, requested: managed.address)
            return BridgeAttachment(bridge: network.bridge, address: "\(lease.address)/\(network.subnet.prefixLength)",
                                    gateway: network.gateway.description, mac: mac)
        case .bridge(var bridge):
            guard let network = try registry.network(onBridge: bridge.bridge), let address = IPv4Address(bridge.host) else { return bridge }
            let mac = MACAddress.wpar(name)
            _ = try lease(network, partition: name, mac: mac, requested: address)
            bridge.mac = mac
            return bridge
        }
    }

    /// The managed network a WPAR's stored network is on (to bring it up before activation).
    func managedNetwork(of network: WparNetwork) throws(PartitionError) -> ManagedNetwork? {
        switch network {
        case .managed(let managed): return try registry.network(named: managed.name)
        case .bridge(let bridge): return try registry.network(onBridge: bridge.bridge)
        case .none, .loopback: return nil
        }
    }

    // MARK: LPARs

    /// Each adapter on a managed network: its bridge and the MAC its lease is for. A MAC the
    /// profile fixes is used; otherwise one the LPAR already holds a lease for on that network
    /// (a redefinition keeps its addresses), else a new random 52:54:00:… one. Leases of the
    /// LPAR that no adapter uses any more are released. Adapters on libvirt networks are left out.
    func lparAdapters(_ name: String, profile: LparProfile) throws(PartitionError) -> [Int: DomainXML.ManagedAdapter] {
        var adapters: [Int: DomainXML.ManagedAdapter] = [:]
        var kept: [String: Set<String>] = [:]      // network -> MACs its adapters use now
        var held: [String: [NetworkLease]] = [:]   // network -> the LPAR's leases before
        let fixedMACs = Set(profile.network.compactMap { $0.mac?.lowercased() })
        do throws(PartitionError) {
            for (index, adapter) in profile.network.enumerated() {
                guard case .network(let networkName) = adapter.attachment,
                      let network = try registry.network(named: networkName) else { continue }
                if held[network.name] == nil { held[network.name] = try book(network).leases().filter { $0.partition == name } }
                let used = kept[network.name] ?? []
                let mac: String
                if let fixed = adapter.mac {
                    mac = try MACAddress.normalized(fixed)
                } else if let reuse = held[network.name]!.first(where: { !used.contains($0.mac) && !fixedMACs.contains($0.mac) }) {
                    mac = reuse.mac
                } else {
                    mac = MACAddress.randomLpar()
                }
                _ = try lease(network, partition: name, mac: mac, requested: nil)
                kept[network.name, default: []].insert(mac)
                adapters[index] = DomainXML.ManagedAdapter(bridge: network.bridge, mac: mac)
            }
        } catch {
            // Only what this call added goes: the leases held before stay as they were.
            for network in (try? registry.list()) ?? [] where kept[network.name] != nil {
                try? book(network).release(partition: name, keeping: Set(held[network.name]?.map(\.mac) ?? []))
            }
            throw error
        }
        for network in try registry.list() {
            try book(network).release(partition: name, keeping: kept[network.name] ?? [])
        }
        return adapters
    }

    /// The managed networks an LPAR's adapters are on (to bring them up before it starts).
    func managedNetworks(of profile: LparProfile) throws(PartitionError) -> [ManagedNetwork] {
        var networks: [ManagedNetwork] = []
        for adapter in profile.network {
            guard case .network(let name) = adapter.attachment, !networks.contains(where: { $0.name == name }),
                  let network = try registry.network(named: name) else { continue }
            networks.append(network)
        }
        return networks
    }

    // MARK: Both

    /// Every lease of `partition` on every managed network (remove, or a define that failed).
    func releaseAll(_ partition: String) throws(PartitionError) {
        for network in try registry.list() {
            try book(network).release(partition: partition)
        }
    }

    /// Every partition's leased addresses, network by network (partctl0 first), in address order.
    func allAddresses() -> [String: [String]] {
        var result: [String: [String]] = [:]
        guard let networks = try? registry.list() else { return result }
        for network in networks {
            for lease in (try? book(network).leases()) ?? [] {
                result[lease.partition, default: []].append(lease.address.description)
            }
        }
        return result
    }
}
