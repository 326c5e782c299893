import PartitionModel
import PartitionNetworks

/// The nested side of forwards: a WPAR nested in an LPAR is reached through its LPAR, whose agent
/// DNATs the LPAR's port on to the WPAR (`network.forwards`, re-rendering the guest's
/// guest_prerouting; NestedForwards).
enum NestedForwardGlue {
    /// (the WPAR's address on its LPAR's guest network, the LPAR's address).
    static func destination(_ path: PartitionPath, manager: PartitionManager) throws(PartitionError) -> (address: IPv4Address, via: IPv4Address?) {
        let lpar = path.components[0]
        let name = path.components[1]
        let backend = try manager.nested()
        guard let address = try NestedForwards.address(of: name, in: lpar, backend: backend) else {
            throw PartitionError(.invalidArgument,
                "\(path) has no address: its network is not partctl0 (its LPAR's own network); define it with -i network=partctl0.")
        }
        guard try backend.record(lpar, name).state == .running else {
            throw PartitionError(.invalidArgument, "\(path) is not running; start it first with 'partctl activate \(path)'.")
        }
        let lparPath = PartitionPath(components: [lpar])
        return (address, try manager.lparAddress(try manager.lpars().target(lpar), path: lparPath))
    }

    /// Sends the LPAR's agent the whole set of its nested forwards (idempotent). A stopped LPAR is
    /// not told: its guest's rules went with its last boot, and `activate` publishes them again.
    static func publish(lpar: PartitionName, _ forwards: [Forward], manager: PartitionManager) throws(PartitionError) {
        let target = try manager.lpars().target(lpar)
        guard try target.domain.isActive() else { return }
        try NestedForwards.publish(forwards.map { GuestForward(proto: $0.proto.rawValue, port: $0.hostPort, address: $0.address, targetPort: $0.port) },
                                   in: lpar, backend: try manager.nested())
    }

    /// The LPARs whose nested forwards differ between `before` and `after`: each gets its new set.
    static func changedLpars(_ before: [Forward], _ after: [Forward]) -> [String: [Forward]] {
        func nested(_ forwards: [Forward]) -> [String: Set<Forward>] {
            var byLpar: [String: Set<Forward>] = [:]
            for forward in forwards where forward.via != nil {
                guard let slash = forward.partition.firstIndex(of: "/") else { continue }
                byLpar[String(forward.partition[..<slash]), default: []].insert(forward)
            }
            return byLpar
        }
        let old = nested(before), new = nested(after)
        var changed: [String: [Forward]] = [:]
        for lpar in Set(old.keys).union(new.keys) where old[lpar] != new[lpar] {
            changed[lpar] = ForwardBook.sorted(Array(new[lpar] ?? []))
        }
        return changed
    }
}
