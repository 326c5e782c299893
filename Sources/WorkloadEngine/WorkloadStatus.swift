import Glibc
import PartitionModel

/// What `query`/`tree` show for one host WPAR.
public struct WorkloadStatus: Codable, Sendable, Hashable {
    public var name: PartitionName
    public var kind: WorkloadSpec.Kind
    /// defined, starting, running, stopping or error (DESIGN §3).
    public var state: PartitionState
    /// The init's PID on the host, while active.
    public var initPID: pid_t?
    public var supervisorPID: pid_t?
    /// Seconds since the epoch.
    public var startedAt: Double?
    public var limits: WorkloadLimits
    /// How the init ended last time.
    public var lastExit: WorkloadExit?
    /// Why the state is `error`.
    public var problem: String?
    /// The definition's annotations (the caller's own facts, e.g. partctl's profile), so that a
    /// listing does not read each definition a second time. Local only: not encoded, so the
    /// agent's status replies stay small.
    public var annotations: [String: String]?
    /// The ID maps of its user namespace, if it has one. Local only, like `annotations`: an older
    /// host would refuse a field it does not know in the agent's replies.
    public var userNamespace: UserNamespaceMapping?
    /// While active: the network it was attached to at activation. Local only, like `annotations`.
    public var network: WorkloadNetwork?

    /// While active on a bridge (a managed network's or one given by hand): `eth0`'s address.
    public var address: String? {
        guard case .bridge(let attachment)? = network else { return nil }
        return attachment.host
    }

    private enum CodingKeys: String, CodingKey {
        case name, kind, state, initPID, supervisorPID, startedAt, limits, lastExit, problem
    }
}

/// How a WPAR's init ended, as its supervisor recorded it.
public struct WorkloadExit: Codable, Sendable, Hashable {
    /// The exit code, when it exited.
    public var code: Int32?
    /// The signal that killed it, when it was killed.
    public var signal: Int32?
    /// Seconds since the epoch.
    public var finishedAt: Int?
}
