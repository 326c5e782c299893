import LibvirtKit
import PartitionModel
import PartitionNetworks
import WorkloadEngine

/// Where a forward to a partition sends its traffic, found once at `forward add` and stored with
/// the forward: partctl's own record of the partition's address, never what the partition says of
/// itself (a hostile WPAR could put another partition's address on its eth0).
extension PartitionManager {
    func forwardDestination(_ path: PartitionPath) throws(PartitionError) -> (address: IPv4Address, via: IPv4Address?) {
        if path.depth == 2 {
            return try NestedForwardGlue.destination(path, manager: self)
        }
        switch try resolve(path) {
        case .hostWpar(let wpar): return (try hostWparAddress(wpar, path: path), nil)
        case .lpar(let lpar): return (try lparAddress(lpar, path: path), nil)
        case .system, .nestedWpar:
            throw PartitionError(.invalidArgument, "A forward goes to a host WPAR, an LPAR or a nested WPAR: write PATH:PORT, e.g. web:80.")
        }
    }

    /// A running host WPAR's eth0 address, as its definition gives it to the engine.
    func hostWparAddress(_ wpar: HostWparTarget, path: PartitionPath) throws(PartitionError) -> IPv4Address {
        let state = try wpars().engine.status(wpar.name).state
        guard state == .running else {
            throw PartitionError(.invalidArgument, "\(path) is \(state.rawValue), not running; start it first with 'partctl activate \(path)'.")
        }
        switch wpar.definition.network {
        case .none, .loopback:
            throw PartitionError(.invalidArgument,
                "\(path) has no address: its network is \(wpar.definition.network == .none ? "none" : "loopback"); define it on a network, e.g. with -i network=partctl0.")
        case .bridge(let bridge):
            guard let address = IPv4Address(bridge.host) else {
                throw PartitionError(.invalidArgument, "\(path) has no IPv4 address (its address is \(bridge.address)); forwards go to IPv4 addresses.")
            }
            return address
        }
    }

    /// A running LPAR's first IPv4 address that libvirt knows (DHCP lease or ARP, as `query -F ip`).
    func lparAddress(_ lpar: LparTarget, path: PartitionPath) throws(PartitionError) -> IPv4Address {
        guard try lpar.domain.isActive() else {
            throw PartitionError(.invalidArgument, "\(path) is not running; start it first with 'partctl activate \(path)'.")
        }
        let leased = LeasedAddresses(leases: try lpars().leases).addresses(of: path.description)
        let field = LparAddresses.field(lpar.domain, active: true, leased: leased)
        guard case .string(let text) = field,
              let address = text.split(separator: " ").lazy.compactMap({ IPv4Address(String($0)) }).first else {
            throw PartitionError(.invalidArgument,
                "\(path) has no IPv4 address partctl can see (no DHCP lease, no ARP entry); put it on a managed network (-i network=partctl0) and wait until it has booted.")
        }
        return address
    }
}
