import Glibc
import PartitionModel

extension WorkloadCgroup {
    /// Sends `signal` to every process of the WPAR, including processes forked while it runs.
    ///
    /// SIGKILL uses cgroup.kill where the kernel has it (cgroup2, Linux 5.14): one write, atomic
    /// against forks. Otherwise the processes are listed while the cgroup is frozen (v1
    /// freezer.state or v2 cgroup.freeze), then signalled. For SIGKILL this repeats until the cgroup
    /// is empty (a process forked after the list dies in the next round; killed ones fork no more),
    /// failing with `.timeout` after `timeout` seconds; other signals are sent once.
    public func killAll(signal: Int32, timeout: Double = 5) throws(PartitionError) {
        guard directories.contains(where: Self.isDirectory) else { return }
        let deadline = SystemCall.monotonicSeconds() + timeout
        if signal == SIGKILL, let unified = unifiedDirectory, SystemCall.writeText("1", to: "\(unified)/cgroup.kill") == nil {
            waitUntil(deadline: deadline) { Self.isUnpopulated(unified) }
        }
        // Without cgroup.kill this signals everything; after it, only what a v1 hierarchy alone still
        // holds (a process that was never attached to cgroup2), which normally is nothing.
        var pause = 0.0002
        while SystemCall.monotonicSeconds() < deadline {
            guard !((try? pids()) ?? []).isEmpty else { break }
            // The list is taken frozen, so no process is half-way through a fork and missing from it;
            // the signals go out after the thaw: a v1-frozen task ignores even SIGKILL, and on this
            // kernel a signal sent to a frozen sleeper was found lost after the thaw.
            let frozen = freeze(until: deadline)
            let victims = (try? pids()) ?? []
            if frozen { thaw() }
            // These PIDs were members a moment ago; one recycled in that moment is the remaining risk
            // (as in runc). cgroup.kill, used wherever it exists, has none.
            for pid in victims { kill(pid, signal) }
            if signal != SIGKILL { return }
            SystemCall.sleep(seconds: pause)
            pause = min(pause * 2, 0.02)
        }
        if signal == SIGKILL {
            waitUntil(deadline: deadline) { isEmpty }
            if !isEmpty {
                throw PartitionError(.timeout, "The processes of \(name) did not all end within \(timeout) seconds of SIGKILL.")
            }
        }
    }

    /// Whether no process is left in any hierarchy.
    var isEmpty: Bool {
        hierarchies.allSatisfy { hierarchy in
            let directory = directory(in: hierarchy)
            return hierarchy.version == .v2 ? Self.isUnpopulated(directory) : Self.processes(inTree: directory).isEmpty
        }
    }

    /// cgroup2's cgroup.events tells for the whole subtree at once.
    private static func isUnpopulated(_ directory: String) -> Bool {
        guard let events = SystemCall.readText("\(directory)/cgroup.events") else { return true }
        return events.split(separator: "\n").contains("populated 0")
    }

    private func waitUntil(deadline: Double, _ condition: () -> Bool) {
        var pause = 0.0001
        while !condition() && SystemCall.monotonicSeconds() < deadline {
            SystemCall.sleep(seconds: pause)
            pause = min(pause * 2, 0.02)
        }
    }

    /// Freezes the cgroup and waits (bounded) until the kernel reports it frozen. Returns whether a
    /// freezer was there to use; without one the signals go out unfrozen.
    private func freeze(until deadline: Double) -> Bool {
        guard let hierarchy = hierarchy(for: .freezer) else { return false }
        let directory = directory(in: hierarchy)
        let isFrozen: () -> Bool
        switch hierarchy.version {
        case .v1:
            guard SystemCall.writeText("FROZEN", to: "\(directory)/freezer.state") == nil else { return false }
            isFrozen = { SystemCall.readText("\(directory)/freezer.state")?.hasPrefix("FROZEN") ?? true }
        case .v2:
            guard SystemCall.writeText("1", to: "\(directory)/cgroup.freeze") == nil else { return false }
            isFrozen = { SystemCall.readText("\(directory)/cgroup.events")?.split(separator: "\n").contains("frozen 1") ?? true }
        }
        // A task in uninterruptible sleep can hold freezing up; after a short while signal anyway.
        let freezeDeadline = min(deadline, SystemCall.monotonicSeconds() + 0.5)
        var pause = 0.0001
        while !isFrozen() && SystemCall.monotonicSeconds() < freezeDeadline {
            SystemCall.sleep(seconds: pause)
            pause = min(pause * 2, 0.01)
        }
        return true
    }

    private func thaw() {
        guard let hierarchy = hierarchy(for: .freezer) else { return }
        let directory = directory(in: hierarchy)
        switch hierarchy.version {
        case .v1: _ = SystemCall.writeText("THAWED", to: "\(directory)/freezer.state")
        case .v2: _ = SystemCall.writeText("0", to: "\(directory)/cgroup.freeze")
        }
    }
}
