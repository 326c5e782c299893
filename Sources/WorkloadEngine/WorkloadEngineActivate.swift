import Glibc
import PartitionModel

extension WorkloadEngine {
    /// Starts a defined WPAR under its own supervisor and returns once its init has exec'd and the
    /// supervisor holds it. Refused when it is already active.
    ///
    /// Order, and what a `kill -9` at each point leaves for the next command's repair: runtime
    /// directory and cgroup (removed); supervisor and paused init (the supervisor sees its control
    /// socket close, kills the init and exits; repair waits for that); running init not yet
    /// committed (same); committed (a running WPAR, nothing to repair).
    public func activate(_ name: PartitionName) throws(PartitionError) {
        try locked(name, "activate") { () throws(PartitionError) in
            if try repair(name) != nil { throw PartitionError(.invalidState, "The WPAR is already active.") }
            let spec = try definitions.load(name)
            var plan = try SpawnPlan(spec: spec, host: host)
            if case .overlay = spec.root {
                // Made on first activation, then planned again: the plan pins the layers' identities.
                try prepareOverlay(spec)
                plan = try SpawnPlan(spec: spec, host: host)
            }
            let supervisorPath = try SupervisorProgram.locate()
            FaultPoint.reach("activate-planned")
            let runtime = runtimeDirectory(name)
            try HostSystem.makeDirectories(runtime, mode: 0o700)
            FaultPoint.reach("activate-runtime-made")
            do throws(PartitionError) {
                let cgroup = try WorkloadCgroup.create(layout: CgroupLayout.current(), name: name.rawValue, limits: spec.limits)
                FaultPoint.reach("activate-cgroup-made")
                try start(spec, plan: plan, cgroup: cgroup, supervisorPath: supervisorPath, runtime: runtime)
            } catch {
                try? removeLeftovers(name)
                throw error
            }
        }
    }

    private func start(_ spec: WorkloadSpec, plan: SpawnPlan, cgroup: WorkloadCgroup, supervisorPath: String,
                       runtime: String) throws(PartitionError) {
        var plan = plan
        let console = spec.console ? try PseudoTerminal() : nil
        if let console { plan.addConsole(slavePath: console.slavePath) }
        // A user-namespaced WPAR's root must own its console, as it would own a terminal it opened
        // itself: else reopening it (/proc/1/fd/1, /dev/console) is refused inside.
        if let console, let owner = spec.userNamespace?.hostRoot, fchown(console.slave, owner.uid, owner.gid) != 0 {
            throw HostSystem.failure("give the console to the WPAR's root")
        }
        let channel = try SupervisorChannel()
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw HostSystem.failure("open /dev/null") }
        defer { close(null) }
        let stdio = console.map { SpawnStdio.all($0.slave, terminal: true) } ?? SpawnStdio.all(null, terminal: false)
        var arguments = [supervisorPath, spec.name.rawValue, "PID", runtime, definitions.exitRecord(of: spec.name)]
        var descriptors = [channel.remote]
        if let console {
            arguments.append("4")
            descriptors.append(console.master)
        }
        let supervisor = PendingProcess.Supervisor(path: supervisorPath, arguments: arguments, environment: [],
                                                   descriptors: descriptors, pidArgument: 2)
        // systemd starts in the cgroup delegated to it, below the one that holds the limits.
        let cgroupFD = spec.systemd == true ? try openDirectory(cgroup.delegatedDirectory()) : openCgroupDirectory(cgroup)
        defer { if cgroupFD >= 0 { close(cgroupFD) } }

        let pending = try PendingProcess.start(plan, cgroupFD: cgroupFD, stdio: stdio, deathSignal: SIGKILL, supervisor: supervisor)
        // The supervisor and the init have their copies now.
        channel.closeRemote()
        console?.closeMaster()
        console?.closeSlave()
        guard let supervisorPID = pending.supervisorPid,
              let supervisorIdentity = try ProcessIdentity.current(pid: supervisorPID),
              let initIdentity = try ProcessIdentity.current(pid: pending.pid) else {
            throw PartitionError(.system, "The WPAR's supervisor or init exited as soon as it was started.")
        }
        var record = WorkloadRuntimeRecord(phase: .starting, supervisor: supervisorIdentity, initProcess: initIdentity,
                                           startedAt: Self.now())
        record.network = spec.network
        do {
            try record.write(to: runtime)
            FaultPoint.reach("activate-spawned")
            try prepare(pending, spec: spec, cgroup: cgroup, networkName: spec.name.rawValue, inUnified: cgroupFD >= 0)
            FaultPoint.reach("activate-attached")
            try pending.release(passing: plan.passedTrees)
            FaultPoint.reach("activate-released")
            try channel.awaitReady(timeout: 10)
            record.phase = .running
            try record.write(to: runtime)
            FaultPoint.reach("activate-recorded")
            try channel.commit(cgroupDirectories: cgroup.directories)
        } catch {
            // Uncommitted, the supervisor kills the init and exits; wait for it before cleaning up.
            pending.abandon()
            channel.abandon()
            if !ProcessWait.waitForExit(supervisorIdentity, seconds: 5) {
                try? supervisorIdentity.signal(SIGKILL)
                _ = ProcessWait.waitForExit(supervisorIdentity, seconds: 5)
            }
            throw error
        }
    }

    /// What the parent does while the child waits: cgroups (`inUnified`: the child was cloned into
    /// the cgroup2 directory), ID maps, network.
    func prepare(_ pending: PendingProcess, spec: WorkloadSpec, cgroup: WorkloadCgroup, networkName: String,
                 inUnified: Bool = false) throws(PartitionError) {
        try cgroup.attach(pid: pending.pid, inUnified: inUnified)
        if let mapping = spec.userNamespace { try UserNamespaceMaps.write(mapping, pid: pending.pid) }
        _ = try NetworkSetup.attach(spec.network, name: networkName, childPid: pending.pid)
    }

    /// A descriptor of the WPAR's cgroup2 directory for CLONE_INTO_CGROUP, or -1 without cgroup2
    /// (pure v1). On hybrid layouts the paused child is then attached by PID to the v1 hierarchies
    /// only (`attach(pid:inUnified:)`).
    func openCgroupDirectory(_ cgroup: WorkloadCgroup) -> Int32 {
        guard let directory = cgroup.unifiedDirectory else { return -1 }
        return open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    }

    func openDirectory(_ directory: String) throws(PartitionError) -> Int32 {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw HostSystem.failure("open the cgroup \(directory)") }
        return fd
    }

    /// The upper and work directories of an overlay root, made on first activation.
    private func prepareOverlay(_ spec: WorkloadSpec) throws(PartitionError) {
        guard case .overlay(_, let upper) = spec.root else { return }
        if let size = spec.diskLimit {
            try WritableLayerImage(definitionDirectory: definitions.directory(of: spec.name), size: size).attach()
        }
        let upperPath = upper ?? SpawnPlan.defaultUpper(for: spec.name, definitionsRoot: paths.definitions,
                                                        limitedDisk: spec.diskLimit != nil)
        let work = SpawnPlan.overlayWork(for: upperPath)
        if let owner = spec.userNamespace?.hostRoot {
            try UserNamespaceLayers.prepare(upper: upperPath, work: work, owner: owner)
            return
        }
        try HostSystem.makeDirectories(upperPath, mode: 0o755)
        try HostSystem.makeDirectories(work, mode: 0o700)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
