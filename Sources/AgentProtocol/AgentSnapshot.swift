import PartitionModel
import WorkloadEngine

extension Agent {
    /// `wpar.freeze`: freezes the cgroups of running nested WPARs before the host takes its LPAR's
    /// snapshot, so that the disk and memory state hold no half-written file of theirs. `names`
    /// nil: every running WPAR. The result names those frozen (not running ones are left out).
    public enum Freeze: AgentCall {
        public static let operation = AgentOperation.wparFreeze
        public struct Arguments: Codable, Sendable, Hashable {
            public var names: [PartitionName]?
            public init(names: [PartitionName]? = nil) { self.names = names }
        }
        public struct Result: Codable, Sendable, Hashable {
            public var frozen: [PartitionName]
            public init(frozen: [PartitionName]) { self.frozen = frozen }
        }
    }

    /// `wpar.thaw`: lets frozen nested WPARs run again (after the snapshot, and after a revert to a
    /// snapshot taken while they were frozen). `names` nil: every defined WPAR. Thawing one that is
    /// not frozen is fine.
    public enum Thaw: AgentCall {
        public static let operation = AgentOperation.wparThaw
        public struct Arguments: Codable, Sendable, Hashable {
            public var names: [PartitionName]?
            public init(names: [PartitionName]? = nil) { self.names = names }
        }
        public typealias Result = AgentEmpty
    }

    /// `wpar.snapshot`: a nested WPAR's own snapshots (its writable layer in the guest), the same
    /// engine calls as for a host WPAR.
    public enum Snapshot: AgentCall {
        public static let operation = AgentOperation.wparSnapshot
        public enum Action: String, Codable, Sendable, Hashable { case create, list, revert, remove }
        public struct Arguments: Codable, Sendable, Hashable {
            public var name: PartitionName
            public var action: Action
            /// Every action but `list` names a snapshot.
            public var snapshot: SnapshotName?
            public init(name: PartitionName, action: Action, snapshot: SnapshotName?) {
                self.name = name
                self.action = action
                self.snapshot = snapshot
            }
        }
        public struct Result: Codable, Sendable, Hashable {
            /// `list`: all of them; `create`: the new one; otherwise empty.
            public var snapshots: [WorkloadSnapshot]
            public init(snapshots: [WorkloadSnapshot]) { self.snapshots = snapshots }
        }
    }

    /// Agents older than snapshots refuse these operations' names; that refusal says what to do.
    public static func explainSnapshotRefusal(_ error: PartitionError, lpar: String) -> PartitionError {
        guard error.code == .unsupported, error.message.contains("is not part of protocol") else { return error }
        return PartitionError(.unsupported,
            "The agent in \(lpar) is older than snapshots: rebuild the guest image (make guest-image) and restart '\(lpar)'.",
            partition: lpar)
    }
}
