import LibvirtKit
import PartitionModel

/// The libvirt networks an LPAR's adapters name must run before it starts: an inactive one is
/// started (libvirt's `default` NAT network is defined but stopped on many hosts). One that
/// cannot be started is one line with the command to try, instead of libvirt's raw message.
enum LparNetworks {
    /// `managed`: names that are partctl's managed networks (brought up by NetworkActivation).
    static func startNeeded(_ profile: LparProfile, connection: LibvirtConnection, managed: Set<String> = []) throws(PartitionError) {
        var seen = managed
        for adapter in profile.network {
            guard case .network(let name) = adapter.attachment, seen.insert(name).inserted else { continue }
            guard let network = try connection.lookupNetwork(name: name) else {
                throw PartitionError(.notFound,
                    "The libvirt network '\(name)' that the profile names does not exist; 'virsh net-list --all' lists the networks.")
            }
            if try network.isActive() { continue }
            do {
                try network.start()
            } catch {
                // Started meanwhile by another command: fine.
                if (try? network.isActive()) == true { continue }
                throw PartitionError(.unavailable,
                    "The libvirt network '\(name)' is not active and could not be started (\(error.message.dropLast(error.message.hasSuffix(".") ? 1 : 0))); start it with 'virsh net-start \(name)'.")
            }
        }
    }
}
