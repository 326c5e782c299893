import Glibc
import PartitionModel

extension WorkloadEngine {
    /// Brings a WPAR's host state back to one of two clean states, whatever a killed command left:
    /// active (a live supervisor that partctl handed the WPAR to) or nothing at all (no cgroup, no
    /// veth, no runtime directory, no process). Returns the runtime record when active.
    ///
    /// Runs under the WPAR's lock, so no other command is half-way through it. Mounts need no
    /// repair: every mount of a WPAR lives in its own mount namespace and dies with it.
    func repair(_ name: PartitionName) throws(PartitionError) -> WorkloadRuntimeRecord? {
        try repairSnapshots(name)
        let runtime = runtimeDirectory(name)
        let record = WorkloadRuntimeRecord.read(from: runtime, cache: runtimeRecords)
        let supervisor = record?.supervisor ?? WorkloadRuntimeRecord.supervisorFromPidFile(in: runtime)
        // A record from before a reboot names PIDs of another boot: isAlive() is false for those.
        if let supervisor, supervisor.isAlive() {
            if let record, WorkloadRuntimeRecord.isCommitted(in: runtime) { return record }
            // Its activation died before handing the WPAR over: once the supervisor notices (its
            // control socket closed) it kills the init and exits. Or it is a supervisor finishing
            // the clean-up after its init ended (it removes the record first). Either way, wait
            // for it to be gone.
            if !ProcessWait.waitForExit(supervisor, seconds: 5) {
                try? supervisor.signal(SIGKILL)  // the init dies with it (parent-death signal)
                _ = ProcessWait.waitForExit(supervisor, seconds: 5)
            }
        }
        try removeLeftovers(name)
        return nil
    }

    /// Kills and removes the WPAR's cgroups, its host-side network and its runtime directory, and
    /// unmounts its writable layer's file system (when it has a disk limit). Idempotent; nothing
    /// missing is an error.
    func removeLeftovers(_ name: PartitionName) throws(PartitionError) {
        defer { WritableLayerImage.detach(mountPoint: WritableLayerImage.mountPoint(in: definitions.directory(of: name))) }
        if let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue) {
            try cgroup.killAll(signal: SIGKILL)
            try cgroup.remove()
        }
        try NetworkSetup.cleanup(name: name.rawValue)
        try HostSystem.removeTree(runtimeDirectory(name))
    }
}
