import LibvirtKit
import PartitionNetworks
import PartitionModel
import PartitionProfiles

/// What a profile names on the managed system, checked all at once: its files, directories and
/// bridges (ResolvedProfile.hostProblems) and, for an LPAR, the libvirt networks its adapters join.
/// `profile check` prints every problem; `define` refuses with the first and says how many more.
extension PartitionManager {
    /// Every problem, each placed at the file and line that set the value. With `inactiveNetworks`
    /// a network that exists but does not run is one too (it must run when the LPAR starts, so
    /// `define` leaves it to activation). Throws when libvirt cannot be asked about networks.
    public func hostProblems(of resolved: ResolvedProfile, inactiveNetworks: Bool) throws(PartitionError) -> [PartitionError] {
        var problems = resolved.hostProblems() + (try managedNetworkProblems(of: resolved))
        guard let lpar = resolved.lpar else { return problems }
        let registry = NetworkRegistry(root: NetworkRegistry.root(stateRoot: configuration.stateRoot))
        for (index, adapter) in lpar.network.enumerated() {
            guard case .network(let name) = adapter.attachment, try registry.network(named: name) == nil else { continue }
            switch try libvirt().networkState(name: name) {
            case nil:
                problems.append(resolved.placed("network[\(index)].network",
                    "'\(name)' is neither a managed network nor a libvirt network on \(configuration.connectURI) ('partctl network list' lists them)."))
            case .inactive? where inactiveNetworks:
                problems.append(resolved.placed("network[\(index)].network",
                    "the libvirt network '\(name)' is not active; start it with 'virsh net-start \(name)' (and 'virsh net-autostart \(name)')."))
            default:
                break
            }
        }
        return problems
    }

    /// A WPAR's managed network must exist, and a fixed address lie in its subnet (the lease
    /// book checks the rest at define). No libvirt needed: WPAR work goes on without libvirtd.
    public func managedNetworkProblems(of resolved: ResolvedProfile) throws(PartitionError) -> [PartitionError] {
        guard case .managed(let managed)? = resolved.wpar?.network else { return [] }
        let registry = NetworkRegistry(root: NetworkRegistry.root(stateRoot: configuration.stateRoot))
        guard let network = try registry.network(named: managed.name) else {
            return [resolved.placed("network", "there is no managed network '\(managed.name)' ('partctl network list' lists them).")]
        }
        if let address = managed.address, !network.subnet.contains(address) {
            return [resolved.placed("network.address", "\(address) is not in \(network.name)'s subnet \(network.subnet).")]
        }
        return []
    }

    /// `define`'s refusal: the first problem, and how many more `profile check` would list.
    static func refusal(_ problems: [PartitionError], profile: String) -> PartitionError? {
        guard var first = problems.first else { return nil }
        if problems.count > 1 {
            let sentence = first.message.hasSuffix(".") ? String(first.message.dropLast()) : first.message
            first = PartitionError(first.code, "\(sentence) (and \(problems.count - 1) more: 'partctl profile check \(profile)' lists them all).")
        }
        return first
    }
}
