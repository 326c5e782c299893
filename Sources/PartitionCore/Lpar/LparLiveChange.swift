import LibvirtKit
import PartitionModel

/// What `modify --live` may change on a running LPAR: vCPUs and memory within min/max, weight and cap.
/// Floors, ceilings and devices change only in the definition.
struct LparLiveChange {
    let old: LparProfile
    let new: LparProfile

    /// The first attribute that differs but cannot change live, in the `-i` vocabulary.
    var refusedAttribute: String? {
        if new.processors.min != old.processors.min { return "min_procs" }
        if new.processors.max != old.processors.max { return "max_procs" }
        if new.memory.min != old.memory.min { return "min_mem" }
        if new.memory.max != old.memory.max { return "max_mem" }
        if new.autostart != old.autostart { return "autostart" }
        if new.accel != old.accel { return "accel" }
        if new.boot != old.boot || new.disks != old.disks || new.network != old.network || new.agent != old.agent {
            return "the boot, disk, network and agent settings"
        }
        return nil
    }

    /// The running partition's floor and ceiling bound the new values, naming the numbers.
    func checkWithinBounds(of bounds: LparProfile) throws(PartitionError) {
        if !bounds.processors.contains(new.processors.desired) {
            throw PartitionError(.outOfRange,
                "desired_procs \(new.processors.desired) is outside min_procs \(bounds.processors.min) .. max_procs \(bounds.processors.max).")
        }
        if !bounds.memory.contains(new.memory.desired) {
            throw PartitionError(.outOfRange,
                "desired_mem \(new.memory.desired) is outside min_mem \(bounds.memory.min) .. max_mem \(bounds.memory.max).")
        }
    }

    func apply(to domain: LibvirtDomain) throws(PartitionError) {
        if new.processors.desired != old.processors.desired {
            try domain.setVcpus(UInt32(new.processors.desired), live: true, config: false)
        }
        if new.memory.desired != old.memory.desired {
            try domain.setMemory(kib: new.memory.desired.kibibytes, live: true, config: false)
        }
        if new.weight != old.weight || new.cap != old.cap {
            // The whole partition's cap, as in the definition's <global_period>/<global_quota>.
            var parameters: [String: LibvirtTypedValue] = ["cpu_shares": .uint64(UInt64(DomainXML.shares(forWeight: new.weight)))]
            if let cap = new.cap {
                parameters["global_period"] = .uint64(UInt64(DomainXML.capPeriodMicroseconds))
                parameters["global_quota"] = .int64(Int64(max(1000, (cap * Double(DomainXML.capPeriodMicroseconds)).rounded())))
            } else if old.cap != nil {
                parameters["global_quota"] = .int64(-1) // libvirt's "no limit"
            }
            try domain.setSchedulerParameters(parameters, live: true, config: false)
        }
    }
}
