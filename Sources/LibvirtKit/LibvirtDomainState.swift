import CLibvirt

/// A domain's state (`virDomainState`). Values this libvirt does not know are kept, not dropped, so a
/// newer daemon cannot break us.
public enum LibvirtDomainState: Sendable, Hashable, CustomStringConvertible {
    case noState
    case running
    /// Blocked on a resource.
    case blocked
    case paused
    /// Being shut down.
    case shutdown
    case shutoff
    case crashed
    /// Suspended by guest power management.
    case pmSuspended
    case unknown(Int32)

    public init(rawValue: Int32) {
        switch virDomainState(rawValue: UInt32(bitPattern: rawValue)) {
        case VIR_DOMAIN_NOSTATE: self = .noState
        case VIR_DOMAIN_RUNNING: self = .running
        case VIR_DOMAIN_BLOCKED: self = .blocked
        case VIR_DOMAIN_PAUSED: self = .paused
        case VIR_DOMAIN_SHUTDOWN: self = .shutdown
        case VIR_DOMAIN_SHUTOFF: self = .shutoff
        case VIR_DOMAIN_CRASHED: self = .crashed
        case VIR_DOMAIN_PMSUSPENDED: self = .pmSuspended
        default: self = .unknown(rawValue)
        }
    }

    public var rawValue: Int32 {
        let state: virDomainState
        switch self {
        case .noState: state = VIR_DOMAIN_NOSTATE
        case .running: state = VIR_DOMAIN_RUNNING
        case .blocked: state = VIR_DOMAIN_BLOCKED
        case .paused: state = VIR_DOMAIN_PAUSED
        case .shutdown: state = VIR_DOMAIN_SHUTDOWN
        case .shutoff: state = VIR_DOMAIN_SHUTOFF
        case .crashed: state = VIR_DOMAIN_CRASHED
        case .pmSuspended: state = VIR_DOMAIN_PMSUSPENDED
        case .unknown(let value): return value
        }
        return Int32(bitPattern: state.rawValue)
    }

    /// virsh's words for the state, e.g. "shut off".
    public var description: String {
        switch self {
        case .noState: return "no state"
        case .running: return "running"
        case .blocked: return "blocked"
        case .paused: return "paused"
        case .shutdown: return "in shutdown"
        case .shutoff: return "shut off"
        case .crashed: return "crashed"
        case .pmSuspended: return "pmsuspended"
        case .unknown(let value): return "unknown state \(value)"
        }
    }
}

/// A domain's state and why it is in it (virDomainGetState). The reason's meaning depends on the
/// state (`virDomainRunningReason`, `virDomainShutoffReason`, ...), so it stays a raw number.
public struct LibvirtDomainStatus: Sendable, Hashable {
    public var state: LibvirtDomainState
    public var reason: Int32

    public init(state: LibvirtDomainState, reason: Int32) {
        self.state = state
        self.reason = reason
    }
}

/// The basic facts of one domain (virDomainGetInfo).
public struct LibvirtDomainInfo: Sendable, Hashable {
    public var state: LibvirtDomainState
    /// The most memory the domain may have.
    public var maxMemoryKiB: UInt64
    /// The memory the domain has now.
    public var memoryKiB: UInt64
    public var virtualCPUs: UInt32
    public var cpuTimeNanoseconds: UInt64

    init(_ info: virDomainInfo) {
        state = LibvirtDomainState(rawValue: Int32(info.state))
        maxMemoryKiB = UInt64(info.maxMem)
        memoryKiB = UInt64(info.memory)
        virtualCPUs = UInt32(info.nrVirtCpu)
        cpuTimeNanoseconds = UInt64(info.cpuTime)
    }
}
