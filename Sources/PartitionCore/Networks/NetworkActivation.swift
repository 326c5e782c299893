import PartitionModel
import PartitionNetworks
import SystemKit

/// A managed network brought up before a partition on it starts.
enum NetworkActivation {
    static func ensureUp(_ network: ManagedNetwork, stateRoot: String) throws(PartitionError) {
        // Until netcore's NetworkHost.ensureUp is merged: the bridge must be there already.
        guard HostSystemFacts.interfaceExists(network.bridge) else {
            throw PartitionError(.unavailable, "The bridge \(network.bridge) of the managed network \(network.name) does not exist.")
        }
    }
}

enum HostSystemFacts {
    static func interfaceExists(_ name: String) -> Bool {
        FileIO.readText("/sys/class/net/\(name)/ifindex", limit: 64) != nil
    }
}
