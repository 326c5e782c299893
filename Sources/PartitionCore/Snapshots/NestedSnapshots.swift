import AgentProtocol
import PartitionModel

extension PartitionManager {
    /// A nested WPAR's snapshots, kept and made by the engine inside its LPAR (`wpar.snapshot`).
    func nestedSnapshot(_ backend: NestedBackend, _ names: (PartitionName, PartitionName), _ action: Agent.Snapshot.Action,
                        _ snapshot: SnapshotName?) throws(PartitionError) -> [SnapshotInfo] {
        let (lpar, wpar) = names
        let (domain, _) = try backend.lparProfile(lpar)
        guard try backend.definitions(of: domain).entry(wpar) != nil else { throw NestedBackend.notDefined(lpar, wpar) }
        let client = try backend.agent(domain, "snapshot \(action.rawValue) of \(NestedBackend.path(lpar, wpar))")
        do {
            // A layer copy inside a guest under TCG takes a while.
            let result = try client.call(Agent.Snapshot.self, .init(name: wpar, action: action, snapshot: snapshot), timeout: .seconds(600))
            return result.snapshots.map(Self.info)
        } catch {
            throw Agent.explainSnapshotRefusal(error, lpar: lpar.rawValue)
        }
    }
}
