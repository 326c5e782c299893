#if canImport(Glibc)
import Glibc
#endif
import LibvirtKit
import PartitionModel

/// What the managed system has in total, as an HMC shows it: CPUs and memory.
///
/// For a local connection these come from the host itself (online CPUs, `MemTotal` of
/// /proc/meminfo). libvirt's nodeinfo is not used there: on hosts with hybrid cgroups it reports
/// the memory of libvirtd's own cgroup view (6.3 GiB on a 23.5 GiB host). A remote system's
/// figures can only come from libvirt.
struct SystemCapacity: Equatable {
    var cpus: Int
    var memoryBytes: UInt64

    /// `qemu:///system`, `test:///default`: no host part, so the managed system is this machine.
    static func isLocal(_ uri: String) -> Bool {
        guard let scheme = uri.range(of: "://") else { return true }
        let rest = uri[scheme.upperBound...]
        return rest.hasPrefix("/") || rest.isEmpty
    }

    /// This machine's figures; nil if /proc cannot be read.
    static func local() -> SystemCapacity? {
        let online = sysconf(Int32(_SC_NPROCESSORS_ONLN))
        guard online > 0, let text = try? LocalFile.read("/proc/meminfo", limit: 16_384),
              let total = memTotalBytes(text) else { return nil }
        return SystemCapacity(cpus: online, memoryBytes: total)
    }

    /// `MemTotal:       24683568 kB` in bytes.
    static func memTotalBytes(_ meminfo: String) -> UInt64? {
        for line in meminfo.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let kib = UInt64(parts[1]) else { return nil }
            return kib << 10
        }
        return nil
    }

    static func remote(_ connection: LibvirtConnection) throws(PartitionError) -> SystemCapacity {
        let node = try connection.nodeInfo()
        return SystemCapacity(cpus: Int(node.cpus), memoryBytes: node.memoryKiB << 10)
    }
}

/// The managed system's allocation: what running partitions hold of its CPUs and memory.
///
/// assigned_procs counts the vCPUs of running LPARs (host WPARs share the host's CPUs and hold
/// none); assigned_mem the current memory of running LPARs plus memory_max of running host WPARs
/// that have one. free = total - assigned, never below 0 (vCPUs may be overcommitted).
struct SystemAllocation: Equatable {
    var procs = 0
    var memoryBytes: UInt64 = 0

    init(children: [PartitionRecord]) {
        for child in children where child.state.isActive && child.path == child.name {
            switch child.kind {
            case .lpar:
                if case .int(let count)? = child.field("procs") { procs += count }
                if case .bytes(let bytes)? = child.field("mem") { memoryBytes += bytes }
            case .wpar:
                if case .bytes(let bytes)? = child.field("memory_max") { memoryBytes += bytes }
            case .system:
                break
            }
        }
    }

    func fields(total: SystemCapacity) -> [(String, FieldValue)] {
        [
            ("procs", .int(total.cpus)),
            ("assigned_procs", .int(procs)),
            ("free_procs", .int(max(0, total.cpus - procs))),
            ("mem", .bytes(total.memoryBytes)),
            ("assigned_mem", .bytes(memoryBytes)),
            ("free_mem", .bytes(total.memoryBytes > memoryBytes ? total.memoryBytes - memoryBytes : 0)),
        ]
    }
}
