import PartitionModel
import PartitionNetworks

/// A managed network brought up before a partition on it starts: bridge, gateway address, NAT,
/// dnsmasq with the reservations (netcore's NetworkHost; cheap when all is up already).
enum NetworkActivation {
    static func ensureUp(_ network: ManagedNetwork, stateRoot: String) throws(PartitionError) {
        try NetworkHost.ensureUp(network, root: NetworkRegistry.root(stateRoot: stateRoot))
    }
}
