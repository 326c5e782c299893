import AgentProtocol
import PartitionModel
import WorkloadEngine

/// A nested WPAR's network inside its LPAR. Only the guest's own network exists there
/// (`Agent.GuestNetwork`: partctl0, 10.78.0.0/24, made by the agent on first need), besides
/// `loopback` and `none`. Its addresses are handed out by the host at define, under the LPAR's
/// lock, and kept in the nested definition (`NestedDefinitions.Entry.address`).
enum NestedGuestNetwork {
    typealias Guest = Agent.GuestNetwork

    /// What the profile's network asks of the guest network: nil when it does not use it,
    /// `.some(nil)` for the next free address, `.some(address)` for a fixed one.
    static func request(_ network: WparNetwork, lpar: PartitionName) throws(PartitionError) -> IPv4Address?? {
        switch network {
        case .none, .loopback: return .none
        case .managed(let managed):
            guard managed.name == Guest.name else {
                throw PartitionError(.invalidArgument,
                    "network: the network '\(managed.name.prefix(40))' does not exist in LPAR '\(lpar)'; a nested WPAR has \(Guest.name) (the guest's own network), loopback or none.")
            }
            return .some(managed.address)
        case .bridge(let bridge):
            // An address set by hand on the guest's bridge is checked and kept like a fixed one.
            guard bridge.bridge == Guest.bridge else { return .none }
            guard let address = IPv4Address(bridge.host) else {
                throw PartitionError(.invalidArgument, "network.address: '\(bridge.address.prefix(40))' is not an IPv4 address.")
            }
            return .some(address)
        }
    }

    /// The address of WPAR `name`: `requested` checked (inside 10.78.0.0/24, not the gateway, the
    /// network or broadcast address, not another nested WPAR's of this LPAR), or the lowest free one.
    static func assign(_ requested: IPv4Address?, to name: PartitionName, lpar: PartitionName,
                       definitions: NestedDefinitions) throws(PartitionError) -> IPv4Address {
        var taken: [IPv4Address: PartitionName] = [:]
        for entry in definitions.entries where entry.name != name {
            if let address = entry.address { taken[address] = entry.name }
        }
        guard let requested else {
            guard let free = Guest.assignable.lowestFree(excluding: Set(taken.keys)) else {
                throw PartitionError(.outOfRange, "network: \(Guest.name) of LPAR '\(lpar)' has no free address left (\(Guest.subnet)).")
            }
            return free
        }
        guard Guest.subnet.contains(requested) else {
            throw PartitionError(.invalidArgument,
                "network: \(requested) is outside \(Guest.name) (\(Guest.subnet)), the network of WPARs in LPAR '\(lpar)'.")
        }
        guard Guest.assignable.contains(requested) else {
            let role = requested == Guest.gateway ? "gateway" : requested == Guest.subnet.network ? "network" : "broadcast"
            throw PartitionError(.invalidArgument, "network: \(requested) is the \(role) address of \(Guest.name) (\(Guest.subnet)), not a WPAR's.")
        }
        if let holder = taken[requested] {
            throw PartitionError(.invalidArgument, "network: \(requested) on \(Guest.name) of LPAR '\(lpar)' is already used by its WPAR '\(holder)'.")
        }
        return requested
    }

    /// The veth of a WPAR on partctl0 with `address`: into the guest's bridge, the default route
    /// through the gateway (which NATs).
    static func attachment(_ address: IPv4Address) -> BridgeAttachment {
        BridgeAttachment(bridge: Guest.bridge, address: "\(address)/\(Guest.subnet.prefixLength)", gateway: Guest.gateway.description)
    }
}
