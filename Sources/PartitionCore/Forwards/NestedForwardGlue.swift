import PartitionModel
import PartitionNetworks

/// The nested side of forwards: a WPAR nested in an LPAR is reached through its LPAR, whose agent
/// DNATs the LPAR's port on to the WPAR (`network.forwards`, re-rendering the guest's
/// guest_prerouting). That side (NestedForwards.publish) is the nested helper's; until it is in
/// this build, forwards to nested WPARs are refused here and nowhere else.
enum NestedForwardGlue {
    /// (the WPAR's address on its LPAR's guest network, the LPAR's address). At merge with
    /// helper/nested, the body becomes:
    ///
    ///     let (lpar, name) = (path.components[0], path.components[1])
    ///     guard let address = try NestedForwards.address(of: name, in: lpar, backend: try manager.nested()) else {
    ///         throw PartitionError(.invalidArgument, "\(path) has no address: its network is not partctl0; define it with -i network=partctl0.")
    ///     }
    ///     let target = try manager.lpars().target(lpar)
    ///     return (address, try manager.lparAddress(target, path: PartitionPath(components: [lpar])))
    static func destination(_ path: PartitionPath, manager: PartitionManager) throws(PartitionError) -> (address: IPv4Address, via: IPv4Address?) {
        throw PartitionError(.unsupported,
            "Forwards to a WPAR nested in an LPAR (\(path)) are not in this build yet (the LPAR's side of them is missing); forward to a host WPAR or an LPAR.")
    }

    /// Sends the LPAR's agent the whole set of its nested forwards (idempotent). A stopped LPAR is
    /// not told (its guest's rules went with its last boot; they are published again when it is
    /// activated). At merge, the body becomes:
    ///
    ///     let target = try manager.lpars().target(lpar)
    ///     guard try target.domain.isActive() else { return }
    ///     try NestedForwards.publish(forwards.map { GuestForward(proto: $0.proto.rawValue, port: $0.hostPort,
    ///                                                            address: $0.address, targetPort: $0.port) },
    ///                                in: lpar, backend: try manager.nested())
    static func publish(lpar: PartitionName, _ forwards: [Forward], manager: PartitionManager) throws(PartitionError) {
        // Until then no nested forward can be added, so there is none to send.
        guard !forwards.isEmpty else { return }
        throw PartitionError(.unsupported, "Forwards to WPARs nested in \(lpar) are not in this build yet.")
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
