import Glibc
import PartitionModel

extension WorkloadEngine {
    /// Asks the WPAR's init to stop (its spec's stop signal, SIGTERM by default) and waits up to
    /// `within` seconds for the WPAR to end. When time runs out, `force` kills everything in its
    /// cgroup with SIGKILL; without `force` the WPAR is left running (its state `running` again, not
    /// `stopping`) and a timeout is reported. Returns once nothing of it is left.
    ///
    /// `within` 0 gives the init no time: only with `force`, as an immediate kill (`force`).
    ///
    /// A WPAR whose supervisor died (`kill -9`) is cleaned up as `remove` would and counts as
    /// stopped (see `repairForStop`).
    public func shutdown(_ name: PartitionName, within seconds: Double = 30, force: Bool = true) throws(PartitionError) {
        guard seconds > 0 || force else {
            throw PartitionError(.invalidArgument, "A shutdown within 0 seconds gives the WPAR no time to stop; add --force to kill it at once.")
        }
        try locked(name, "shutdown") { () throws(PartitionError) in
            guard let record = try repairForStop(name) else { return }
            let spec = try definitions.load(name)
            try stopLocked(name, record: record, signal: seconds > 0 ? spec.stopSignal : nil, within: max(0, seconds), force: force)
        }
    }

    /// Sends the WPAR's init its stop signal and returns at once (`shutdown --no-wait`): the WPAR
    /// shows as `stopping` for up to `within` seconds, then, if it still runs, as `running` again.
    public func requestShutdown(_ name: PartitionName, within seconds: Double) throws(PartitionError) {
        try locked(name, "shutdown") { () throws(PartitionError) in
            guard let record = try repairForStop(name) else { return }
            let spec = try definitions.load(name)
            try markStopping(name, record: record, for: max(1, seconds))
            try? record.initProcess.signal(spec.stopSignal)
        }
    }

    /// Kills everything in the WPAR at once (z/VM FORCE, stopwpar -F).
    public func force(_ name: PartitionName) throws(PartitionError) {
        try locked(name, "force") { () throws(PartitionError) in
            guard let record = try repairForStop(name) else { return }
            try stopLocked(name, record: record, signal: nil, within: 0, force: true)
        }
    }

    /// `repair` for the stop verbs: the record of an active WPAR; nil when the WPAR had been left
    /// half there (a dead supervisor with its cgroups, processes or runtime directory), which
    /// `repair` has just removed, so the WPAR is stopped now; "not active" when there was nothing.
    private func repairForStop(_ name: PartitionName) throws(PartitionError) -> WorkloadRuntimeRecord? {
        let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue)
        let leftovers = cgroup != nil || HostSystem.fileType(runtimeDirectory(name)) != nil
        if let record = try repair(name) { return record }
        guard leftovers else { throw PartitionError(.invalidState, "The WPAR is not active.") }
        return nil
    }

    /// Records that a stop is under way for the next `seconds` (what `query` shows as `stopping`).
    private func markStopping(_ name: PartitionName, record: WorkloadRuntimeRecord, for seconds: Double) throws(PartitionError) {
        var stopping = record
        stopping.phase = .stopping
        stopping.stoppingUntil = Self.now() + seconds
        try stopping.write(to: runtimeDirectory(name))
    }

    func stopLocked(_ name: PartitionName, record: WorkloadRuntimeRecord, signal: Int32?, within seconds: Double,
                    force: Bool) throws(PartitionError) {
        // The kill below and the supervisor's cleanup take up to 15 s more.
        try markStopping(name, record: record, for: seconds + (force ? 20 : 1))
        if let signal {
            // Pinned by pidfd and checked against its start time: a reused PID is never signalled.
            try? record.initProcess.signal(signal)
        }
        if !ProcessWait.waitForExit(record.supervisor, seconds: seconds) {
            guard force else {
                // Back to running, so that nothing shows a stop that is no longer under way.
                var running = record
                running.phase = .running
                running.stoppingUntil = nil
                try running.write(to: runtimeDirectory(name))
                // It may have ended just now, after the wait: then it stopped after all.
                guard record.supervisor.isAlive() else { return try removeLeftovers(name) }
                throw PartitionError(.timeout,
                    "The WPAR did not stop within \(Self.seconds(seconds)); it keeps running. Use --force to kill it.")
            }
            if let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue) {
                try cgroup.killAll(signal: SIGKILL)
            }
            // With its init dead the supervisor cleans up and exits; if even it hangs, kill it
            // (the init, were it alive, would die with it by its parent-death signal).
            if !ProcessWait.waitForExit(record.supervisor, seconds: 10) {
                try? record.supervisor.signal(SIGKILL)
                _ = ProcessWait.waitForExit(record.supervisor, seconds: 5)
            }
        }
        try removeLeftovers(name)
    }

    private static func seconds(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value)) seconds" : "\(value) seconds"
    }
}
