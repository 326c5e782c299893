import CLibvirt

/// Which groups of statistics virConnectGetAllDomainStats gathers.
public struct LibvirtStatsGroups: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// State and reason: never asks a hypervisor process.
    public static let state = LibvirtStatsGroups(rawValue: VIR_DOMAIN_STATS_STATE.rawValue)
    /// Total CPU time: read from the host, never asks a hypervisor process.
    public static let cpuTotal = LibvirtStatsGroups(rawValue: VIR_DOMAIN_STATS_CPU_TOTAL.rawValue)
    /// Current and maximum memory.
    public static let balloon = LibvirtStatsGroups(rawValue: VIR_DOMAIN_STATS_BALLOON.rawValue)
    /// Current and maximum vCPUs.
    public static let vcpu = LibvirtStatsGroups(rawValue: VIR_DOMAIN_STATS_VCPU.rawValue)

    public static let all: LibvirtStatsGroups = [.state, .cpuTotal, .balloon, .vcpu]
}

/// One domain's statistics from virConnectGetAllDomainStats. Fields of groups that were not asked
/// for, or that the driver does not report, are nil.
public struct LibvirtDomainStats: Sendable {
    public var domain: LibvirtDomain
    public var status: LibvirtDomainStatus?
    public var cpuTimeNanoseconds: UInt64?
    public var memoryKiB: UInt64?
    public var maxMemoryKiB: UInt64?
    public var vcpus: UInt32?
    public var maxVcpus: UInt32?
    /// Every parameter the driver returned, by name (e.g. "balloon.rss"), for what the fields above leave out.
    public var raw: [String: LibvirtTypedValue]

    init(domain: LibvirtDomain, parameters: UnsafeMutablePointer<virTypedParameter>?, count: Int32) {
        self.domain = domain
        raw = LibvirtTypedValue.dictionary(parameters, count: count)
        if let state = raw["state.state"]?.int64Value, let reason = raw["state.reason"]?.int64Value,
           let state = Int32(exactly: state), let reason = Int32(exactly: reason) {
            status = LibvirtDomainStatus(state: LibvirtDomainState(rawValue: state), reason: reason)
        }
        cpuTimeNanoseconds = raw["cpu.time"]?.uint64Value
        memoryKiB = raw["balloon.current"]?.uint64Value
        maxMemoryKiB = raw["balloon.maximum"]?.uint64Value
        vcpus = raw["vcpu.current"]?.uint64Value.flatMap { UInt32(exactly: $0) }
        maxVcpus = raw["vcpu.maximum"]?.uint64Value.flatMap { UInt32(exactly: $0) }
    }
}
