import PartitionModel

/// One value written to one interface file of a cgroup directory.
struct CgroupFileWrite: Hashable, Sendable {
    var file: String
    var value: String
}

/// How `WorkloadLimits` become cgroup file writes, in v2 and in v1, and which limits are possible.
enum CgroupLimitFiles {
    static let cpuWeightRange = 1...10_000
    static let defaultCPUWeight = 100
    /// The CFS period used for caps: 100 ms, the kernel's default.
    static let cpuPeriodMicroseconds = 100_000
    /// The kernel refuses quotas under 1 ms.
    static let cpuMaxRange = 0.01...4096.0
    static let minimumMemory: UInt64 = 1 << 20
    /// PID_MAX_LIMIT on 64-bit kernels.
    static let pidsMaxRange = 1...4_194_304

    /// Refuses limits no kernel would honour, before anything is created.
    static func check(_ limits: WorkloadLimits) throws(PartitionError) {
        if let weight = limits.cpuWeight, !cpuWeightRange.contains(weight) {
            throw PartitionError(.outOfRange, "The CPU weight \(weight) is out of range; it must be between 1 and 10000.")
        }
        if let cpus = limits.cpuMax, !(cpus.isFinite && cpuMaxRange.contains(cpus)) {
            throw PartitionError(.outOfRange, "The CPU cap of \(cpus) CPUs is out of range; it must be between 0.01 and 4096 CPUs.")
        }
        for (label, bytes) in [("memory high", limits.memoryHigh), ("memory max", limits.memoryMax)] {
            if let bytes, bytes < minimumMemory {
                throw PartitionError(.outOfRange, "The \(label) limit of \(bytes) bytes is too small; it must be at least 1 MiB.")
            }
            if let bytes, bytes > UInt64(Int64.max) {
                throw PartitionError(.outOfRange, "The \(label) limit of \(bytes) bytes is too large.")
            }
        }
        if let high = limits.memoryHigh, let max = limits.memoryMax, high > max {
            throw PartitionError(.outOfRange, "The memory high limit (\(high) bytes) is above the memory max limit (\(max) bytes); the soft limit must not exceed the hard one.")
        }
        if let pids = limits.pidsMax, !pidsMaxRange.contains(pids) {
            throw PartitionError(.outOfRange, "The process limit \(pids) is out of range; it must be between 1 and 4194304.")
        }
    }

    /// The controllers that `limits` need.
    static func controllers(neededBy limits: WorkloadLimits) -> [(CgroupController, String)] {
        var needed: [(CgroupController, String)] = []
        if limits.cpuWeight != nil { needed.append((.cpu, "a CPU weight")) }
        if limits.cpuMax != nil { needed.append((.cpu, "a CPU cap")) }
        if limits.memoryHigh != nil || limits.memoryMax != nil { needed.append((.memory, "a memory limit")) }
        if limits.pidsMax != nil { needed.append((.pids, "a process limit")) }
        return needed
    }

    /// The writes that put `limits` into effect for `controller`. With `resetUnset`, limits that are
    /// nil are written back to "unlimited" (a live change that removes a limit); without it they are
    /// left alone, which is right for a fresh cgroup and saves writes on the hot path.
    static func writes(for controller: CgroupController, version: CgroupHierarchy.Version,
                       limits: WorkloadLimits, resetUnset: Bool) -> [CgroupFileWrite] {
        var writes: [CgroupFileWrite] = []
        func add(_ file: String, _ value: String?, unset: String) {
            if let value { writes.append(CgroupFileWrite(file: file, value: value)) }
            else if resetUnset { writes.append(CgroupFileWrite(file: file, value: unset)) }
        }
        switch (controller, version) {
        case (.cpu, .v2):
            add("cpu.weight", limits.cpuWeight.map(String.init), unset: String(defaultCPUWeight))
            add("cpu.max", limits.cpuMax.map { "\(quota(for: $0)) \(cpuPeriodMicroseconds)" }, unset: "max \(cpuPeriodMicroseconds)")
        case (.cpu, .v1):
            add("cpu.shares", limits.cpuWeight.map { String(shares(forWeight: $0)) }, unset: String(shares(forWeight: defaultCPUWeight)))
            if limits.cpuMax != nil || resetUnset {
                writes.append(CgroupFileWrite(file: "cpu.cfs_period_us", value: String(cpuPeriodMicroseconds)))
            }
            add("cpu.cfs_quota_us", limits.cpuMax.map { String(quota(for: $0)) }, unset: "-1")
        case (.memory, .v2):
            add("memory.high", limits.memoryHigh.map { String($0) }, unset: "max")
            add("memory.max", limits.memoryMax.map { String($0) }, unset: "max")
        case (.memory, .v1):
            // v1 has no throttling soft limit; the soft limit is where reclaim pushes a cgroup back
            // first when the host is short of memory, the nearest thing to memory.high.
            add("memory.soft_limit_in_bytes", limits.memoryHigh.map { String($0) }, unset: "-1")
            add("memory.limit_in_bytes", limits.memoryMax.map { String($0) }, unset: "-1")
        case (.pids, _):
            add("pids.max", limits.pidsMax.map(String.init), unset: "max")
        case (.cpuacct, _), (.freezer, _), (.devices, _):
            break
        }
        return writes
    }

    /// The CFS quota in microseconds per period for a cap in CPUs: 0.5 → 50000.
    static func quota(for cpus: Double) -> Int {
        Int((cpus * Double(cpuPeriodMicroseconds)).rounded())
    }

    /// v1 cpu.shares for a v2-style weight. Linear, as systemd maps CPUWeight= to CPUShares=, so the
    /// default weight 100 is the default 1024 shares and an unweighted WPAR competes evenly with every
    /// other cgroup on the host. (crun's shares→weight formula, run backwards, would give weight 100
    /// 2597 shares: two and a half times the host's default share.)
    static func shares(forWeight weight: Int) -> Int {
        min(max(weight * 1024 / defaultCPUWeight, 2), 262_144)
    }
}
