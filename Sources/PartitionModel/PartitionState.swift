/// The kinds of partition in the tree (DESIGN §1).
public enum PartitionKind: String, Sendable, Codable, CaseIterable {
    case system
    case lpar
    case wpar
}

/// One set of states for both kinds of partition (DESIGN §3).
public enum PartitionState: String, Sendable, Codable, CaseIterable {
    /// Exists, not running.
    case defined
    case starting
    case running
    case paused
    case stopping
    /// Failed or broken.
    case error
    /// Cannot be known: its LPAR is down, its agent does not answer, or libvirt is unreachable.
    case unavailable

    public var isActive: Bool {
        switch self {
        case .starting, .running, .paused, .stopping: return true
        case .defined, .error, .unavailable: return false
        }
    }
}
