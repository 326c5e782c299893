import AgentProtocol
import PartitionModel
import WorkloadEngine

/// The snapshot operations (AgentSnapshot.swift) on the guest's engine.
extension AgentDispatcher {
    func handleSnapshotOperation(_ request: AgentRequest) throws(PartitionError) -> JSONValue {
        switch request.operation {
        case .wparFreeze:
            let names = try request.arguments(of: Agent.Freeze.self).names ?? engine.definedNames()
            var frozen: [PartitionName] = []
            do throws(PartitionError) {
                for name in names where try engine.freeze(name) { frozen.append(name) }
            } catch {
                // All or none: what was frozen before the failure runs again.
                for name in frozen { try? engine.thaw(name) }
                throw error
            }
            return try StrictJSON.encode(Agent.Freeze.Result(frozen: frozen), what: "result of wpar.freeze")
        case .wparThaw:
            let names = try request.arguments(of: Agent.Thaw.self).names ?? engine.definedNames()
            for name in names { try engine.thaw(name) }
            return try StrictJSON.encode(AgentEmpty(), what: "result of wpar.thaw")
        default:
            let arguments = try request.arguments(of: Agent.Snapshot.self)
            var result: [WorkloadSnapshot] = []
            switch (arguments.action, arguments.snapshot) {
            case (.list, _): result = try engine.snapshots(arguments.name)
            case (.create, let snapshot?): result = [try engine.createSnapshot(arguments.name, snapshot)]
            case (.revert, let snapshot?): try engine.revertSnapshot(arguments.name, snapshot)
            case (.remove, let snapshot?): try engine.removeSnapshot(arguments.name, snapshot)
            default: throw PartitionError(.invalidArgument, "wpar.snapshot \(arguments.action.rawValue) needs a snapshot name.")
            }
            return try StrictJSON.encode(Agent.Snapshot.Result(snapshots: result), what: "result of wpar.snapshot")
        }
    }
}
