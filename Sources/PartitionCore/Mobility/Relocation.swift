import PartitionModel

/// What `partctl relocate PATH --to DESTINATION` asks for.
public struct RelocationRequest: Sendable {
    public enum Mode: String, Sendable {
        /// An LPAR: libvirt's live migration (it keeps running). A nested WPAR: CRIU checkpoint and restore.
        case live
        /// An LPAR: its definition and disks move, stopped. A nested WPAR: stopped, moved, left stopped.
        case offline
        /// An LPAR: live when running, offline when stopped. A nested WPAR: stopped, moved, started again
        /// when it was running.
        case automatic
    }
    /// The partition to move: an LPAR (`lp1`) or a nested WPAR (`lp1/web`).
    public var path: PartitionPath
    /// An LPAR moves to a managed system (its name, `partctl system list`); a nested WPAR moves to
    /// another LPAR (its path, `lp2`, on the same system).
    public var destination: String
    public var mode: Mode
    /// Only check what would block the move; nothing changes.
    public var validateOnly: Bool
    /// An LPAR: the most its migration stream may take, MiB/s (nil: libvirt's default, unlimited).
    public var bandwidthMiBPerSecond: UInt64?

    public init(path: PartitionPath, destination: String, mode: Mode, validateOnly: Bool) {
        self.path = path
        self.destination = destination
        self.mode = mode
        self.validateOnly = validateOnly
    }
}

/// What a relocation did (or, with `validateOnly`, found), for the verb to print and for --json.
public struct RelocationReport: Sendable {
    /// The partition's path where it is now (`lp1` on sys2, `lp2/web`).
    public var path: String
    /// The destination system or LPAR.
    public var destination: String
    /// `live` or `offline`, as it was done.
    public var mode: String
    /// Wall-clock seconds of the whole move.
    public var seconds: Double
    /// How long the partition did not run, as libvirt (or CRIU) reports it; nil when not known.
    public var downtimeMilliseconds: Double?
    /// Memory and disk bytes moved; nil when not known.
    public var bytes: UInt64?
    /// With `validateOnly`: every problem found (empty: the move would be tried).
    public var blockers: [String]

    public init(path: String, destination: String, mode: String, seconds: Double = 0,
                downtimeMilliseconds: Double? = nil, bytes: UInt64? = nil, blockers: [String] = []) {
        self.path = path
        self.destination = destination
        self.mode = mode
        self.seconds = seconds
        self.downtimeMilliseconds = downtimeMilliseconds
        self.bytes = bytes
        self.blockers = blockers
    }
}

extension PartitionManager {
    /// `relocate`: an LPAR to another managed system (LparRelocation.swift), a nested WPAR to
    /// another LPAR (NestedRelocation.swift).
    public func relocate(_ request: RelocationRequest) throws(PartitionError) -> RelocationReport {
        switch request.path.depth {
        case 1: return try relocateLpar(request)
        case 2: return try relocateNested(request)
        default:
            throw PartitionError(.invalidArgument, "Only an LPAR (lp1) or a WPAR nested in one (lp1/web) can be relocated.",
                                 partition: request.path.description, operation: "relocate")
        }
    }
}
