import Glibc
import PartitionModel

extension WorkloadEngine {
    /// Runs a transient WPAR (AIX wparexec, `partctl run`): this process is its parent and waits
    /// for it; no supervisor, no definition, no runtime state. Returns its exit status (128 +
    /// signal when killed) once nothing of it is left.
    ///
    /// Kept lean, as it competes with `crun run`: no extra process, no files written, one cgroup
    /// with only the controllers its limits need. If this process is killed meanwhile, the WPAR's
    /// init dies with it (parent-death signal) and the next `run` removes the empty cgroup.
    public func run(_ spec: WorkloadSpec, input: Int32 = 0, output: Int32 = 1, error: Int32 = 2) throws(PartitionError) -> Int32 {
        do {
            var spec = spec
            let transient = TransientName.next()
            if let request = spec.userNamespace {
                spec.userNamespace = try userNamespaceRanges.acquire(request, for: transient.text, previous: nil, isGone: isGoneHolder)
            }
            defer { if spec.userNamespace != nil { try? userNamespaceRanges.release(transient.text) } }
            let plan = try SpawnPlan(spec: spec, host: host)
            let layout = try CgroupLayout.detect()
            removeAbandonedTransients(layout: layout)
            let cgroup = try WorkloadCgroup.create(layout: layout, name: transient.text, limits: spec.limits)
            defer { Self.removeTransient(cgroup, name: transient.text, network: spec.network) }
            // The command gets pipes, never the caller's descriptors (see StdioPipes).
            let pipes = try StdioPipes()
            // Cloned sharing this process's memory, so not into the cgroup: prepare attaches it.
            let pending = try PendingProcess.start(plan, cgroupFD: -1,
                                                   stdio: SpawnStdio(descriptors: pipes.workloadEnds, controllingTerminal: false),
                                                   deathSignal: SIGKILL)
            pipes.closeWorkloadEnds()
            let exit = try ChildExit(pending.pid)
            defer { exit.close() }
            try prepare(pending, spec: spec, cgroup: cgroup, networkName: transient.text)
            try pending.release(passing: plan.passedTrees)
            pipes.relay(until: exit, input: input, output: output, error: error)
            return ProcessWait.exitCode(of: pending.pid)
        } catch {
            throw error.with(partition: spec.name.rawValue, operation: "run")
        }
    }

    /// The init was PID 1 of its namespace, so everything else in it died with it: usually the
    /// cgroup is empty and goes with one rmdir.
    private static func removeTransient(_ cgroup: WorkloadCgroup, name: String, network: WorkloadNetwork) {
        if (try? cgroup.remove()) == nil {
            try? cgroup.killAll(signal: SIGKILL)
            try? cgroup.remove()
        }
        if case .bridge = network { try? NetworkSetup.cleanup(name: name) }
    }

    /// Cgroups of transient runs whose partctl is gone (killed before it could clean up).
    func removeAbandonedTransients(layout: CgroupLayout) {
        for name in WorkloadCgroup.listExisting(layout: layout) {
            guard let transient = TransientName(parsing: name), !transient.owner.isAlive() else { continue }
            if let cgroup = try? WorkloadCgroup.open(layout: layout, name: name) {
                try? cgroup.killAll(signal: SIGKILL)
                try? cgroup.remove()
            }
            try? NetworkSetup.cleanup(name: name)
        }
    }
}
