import AgentProtocol
import PartitionModel

/// A forward's guest side: the LPAR's port `port` to its nested WPAR at `address:targetPort`.
typealias GuestForward = Agent.NetworkForwards.Forward

/// The nested half of `partctl forward` (docs/nested-networks.md): the host forwards a port to
/// the LPAR's address, and the LPAR's agent forwards it on to the nested WPAR on partctl0 (chain
/// `guest_prerouting` in the guest). The forwards code calls these for a nested target.
enum NestedForwards {
    /// Hands the LPAR's agent the whole set of guest forwards of `lpar` (the set replaces the
    /// previous one: idempotent; an empty set removes them all). The LPAR must be running.
    static func publish(_ forwards: [GuestForward], in lpar: PartitionName, backend: NestedBackend) throws(PartitionError) {
        if let problem = Agent.NetworkForwards.problem(of: forwards) {
            throw PartitionError(.invalidArgument, problem, partition: lpar.rawValue)
        }
        let (domain, _) = try backend.lparProfile(lpar)
        let client = try backend.agent(domain, "forwards of \(lpar)")
        do {
            try client.call(Agent.NetworkForwards.self, .init(forwards: forwards))
        } catch {
            throw Agent.NetworkForwards.explainRefusal(error, lpar: lpar.rawValue)
        }
    }

    /// The address of nested WPAR `name` on its LPAR's guest network, from its definition; nil
    /// when it is not on partctl0 (a forward to it is refused: it has no address to forward to).
    static func address(of name: PartitionName, in lpar: PartitionName, backend: NestedBackend) throws(PartitionError) -> IPv4Address? {
        let (domain, _) = try backend.lparProfile(lpar)
        guard let entry = try backend.definitions(of: domain).entry(name) else { throw NestedBackend.notDefined(lpar, name) }
        return entry.address
    }
}
