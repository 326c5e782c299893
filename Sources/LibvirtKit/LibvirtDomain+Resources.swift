import CLibvirt
import Glibc
import PartitionModel

/// vCPUs, memory and CPU scheduling of a domain.
extension LibvirtDomain {
    /// Sets the number of active vCPUs (virDomainSetVcpusFlags). Neither `live` nor `config` means
    /// whichever applies now.
    public func setVcpus(_ count: UInt32, live: Bool = false, config: Bool = false) throws(PartitionError) {
        let flags = modificationFlags(live: live, config: config)
        try LibvirtCall.run("virDomainSetVcpusFlags") { virDomainSetVcpusFlags(pointer, count, flags) }
    }

    /// Sets the most vCPUs the persistent definition allows (virDomainSetVcpusFlags with MAXIMUM|CONFIG).
    public func setMaxVcpus(_ count: UInt32) throws(PartitionError) {
        let flags = VIR_DOMAIN_VCPU_MAXIMUM.rawValue | VIR_DOMAIN_VCPU_CONFIG.rawValue
        try LibvirtCall.run("virDomainSetVcpusFlags") { virDomainSetVcpusFlags(pointer, count, flags) }
    }

    /// The number of vCPUs, or the most allowed when `maximum` (virDomainGetVcpusFlags).
    public func vcpuCount(_ scope: LibvirtScope = .current, maximum: Bool = false) throws(PartitionError) -> UInt32 {
        let flags = scope.flags | (maximum ? VIR_DOMAIN_VCPU_MAXIMUM.rawValue : 0)
        return UInt32(try LibvirtCall.run("virDomainGetVcpusFlags") { virDomainGetVcpusFlags(pointer, flags) })
    }

    /// Sets the memory the domain has (virDomainSetMemoryFlags); live changes go through the balloon.
    public func setMemory(kib: UInt64, live: Bool = false, config: Bool = false) throws(PartitionError) {
        let flags = modificationFlags(live: live, config: config)
        try LibvirtCall.run("virDomainSetMemoryFlags") { virDomainSetMemoryFlags(pointer, UInt(kib), flags) }
    }

    /// Sets the most memory the domain may have (virDomainSetMemoryFlags with MEM_MAXIMUM). Most
    /// drivers only change this in the persistent definition.
    public func setMaxMemory(kib: UInt64, live: Bool = false, config: Bool = true) throws(PartitionError) {
        let flags = modificationFlags(live: live, config: config) | VIR_DOMAIN_MEM_MAXIMUM.rawValue
        try LibvirtCall.run("virDomainSetMemoryFlags") { virDomainSetMemoryFlags(pointer, UInt(kib), flags) }
    }

    // MARK: CPU scheduling

    /// All scheduler parameters the driver has for this domain (virDomainGetSchedulerParametersFlags),
    /// e.g. QEMU's "cpu_shares", "vcpu_period", "vcpu_quota".
    public func schedulerParameters(_ scope: LibvirtScope = .current) throws(PartitionError) -> [String: LibvirtTypedValue] {
        var count: Int32 = 0
        let type = try LibvirtCall.run("virDomainGetSchedulerType") { virDomainGetSchedulerType(pointer, &count) }
        free(type)
        guard count > 0 else { return [:] }
        let parameters = UnsafeMutablePointer<virTypedParameter>.allocate(capacity: Int(count))
        parameters.initialize(repeating: virTypedParameter(), count: Int(count))
        defer {
            virTypedParamsClear(parameters, count)
            parameters.deallocate()
        }
        if scope == .current {
            // The flag-less call reads the same values and is the one every driver has; the test
            // driver rejects the flags its own public wrapper adds to the other.
            try LibvirtCall.run("virDomainGetSchedulerParameters") {
                virDomainGetSchedulerParameters(pointer, parameters, &count)
            }
        } else {
            try LibvirtCall.run("virDomainGetSchedulerParametersFlags") {
                virDomainGetSchedulerParametersFlags(pointer, parameters, &count, scope.flags)
            }
        }
        return LibvirtTypedValue.dictionary(parameters, count: count)
    }

    /// Sets scheduler parameters by name (virDomainSetSchedulerParametersFlags). Each value must
    /// have the type the driver expects.
    public func setSchedulerParameters(
        _ values: [String: LibvirtTypedValue], live: Bool = false, config: Bool = false
    ) throws(PartitionError) {
        guard !values.isEmpty else { return }
        let list = try TypedParameterList(values)
        let flags = modificationFlags(live: live, config: config)
        try LibvirtCall.run("virDomainSetSchedulerParametersFlags") {
            virDomainSetSchedulerParametersFlags(pointer, list.parameters, list.count, flags)
        }
    }

    /// The CPU weight and cap parameters of `<cputune>` (cpu_shares, vcpu_period, vcpu_quota).
    public func cpuTuning(_ scope: LibvirtScope = .current) throws(PartitionError) -> LibvirtCPUTuning {
        let values = try schedulerParameters(scope)
        return LibvirtCPUTuning(
            shares: values[VIR_DOMAIN_SCHEDULER_CPU_SHARES]?.uint64Value,
            vcpuPeriod: values[VIR_DOMAIN_SCHEDULER_VCPU_PERIOD]?.uint64Value,
            vcpuQuota: values[VIR_DOMAIN_SCHEDULER_VCPU_QUOTA]?.int64Value
        )
    }

    /// Sets the non-nil CPU weight and cap parameters, with the types libvirt expects for them.
    public func setSchedulerParameters(
        _ tuning: LibvirtCPUTuning, live: Bool = false, config: Bool = false
    ) throws(PartitionError) {
        var values: [String: LibvirtTypedValue] = [:]
        if let shares = tuning.shares { values[VIR_DOMAIN_SCHEDULER_CPU_SHARES] = .uint64(shares) }
        if let period = tuning.vcpuPeriod { values[VIR_DOMAIN_SCHEDULER_VCPU_PERIOD] = .uint64(period) }
        if let quota = tuning.vcpuQuota { values[VIR_DOMAIN_SCHEDULER_VCPU_QUOTA] = .int64(quota) }
        try setSchedulerParameters(values, live: live, config: config)
    }
}

/// CPU weight and cap of a domain: `<cputune><shares>`, `<period>` and `<quota>`.
public struct LibvirtCPUTuning: Sendable, Hashable {
    /// Relative weight against other domains.
    public var shares: UInt64?
    /// Length of a vCPU's bandwidth period in microseconds.
    public var vcpuPeriod: UInt64?
    /// A vCPU's run time per period in microseconds; negative means unlimited.
    public var vcpuQuota: Int64?

    public init(shares: UInt64? = nil, vcpuPeriod: UInt64? = nil, vcpuQuota: Int64? = nil) {
        self.shares = shares
        self.vcpuPeriod = vcpuPeriod
        self.vcpuQuota = vcpuQuota
    }
}
