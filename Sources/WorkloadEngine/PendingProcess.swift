import CSpawn
import Glibc
import PartitionModel

/// A process CSpawn has cloned that waits until it is released: meanwhile the caller puts it in
/// its cgroups, writes its ID maps and sets up its network. If it is neither released nor
/// abandoned, it is abandoned when this object goes away (the child exits without running).
///
/// When it is this process's own child (no supervisor), a child that was abandoned or whose setup
/// failed is reaped here; one that was released successfully is the owner's to wait for.
final class PendingProcess {
    private var child: cspawn_child
    /// What the child reads from this process's memory until it has exec'd or exited (CLONE_VM);
    /// nil for a joining process, whose C structs are only read before the fork.
    private let plan: CSpawnPlan?
    private var settled = false
    private var needsReaping = false

    /// The new process as this process's PID namespace sees it.
    var pid: pid_t { child.pid }
    /// The supervisor holding it, when it was started under one.
    var supervisorPid: pid_t? { child.supervisor_pid > 0 ? child.supervisor_pid : nil }

    private init(child: cspawn_child, plan: CSpawnPlan?) {
        self.child = child
        self.plan = plan
    }

    deinit {
        abandon()
        if needsReaping { _ = ProcessWait.exitCode(of: child.pid) }
    }

    /// A program that is to become the new process's parent (see cspawn_start.h).
    struct Supervisor {
        var path: String
        var arguments: [String]
        var environment: [String]
        /// Installed as its descriptors 3, 4, ...
        var descriptors: [Int32]
        /// Index of the argument the init's PID replaces.
        var pidArgument: Int
    }

    /// Clones a WPAR's init (or an application's command) for `plan`. `cgroupFD` (a cgroup2
    /// directory to clone into) only goes with a supervisor; without one it must be -1 and the
    /// caller attaches the child by PID (see cspawn_start.h).
    static func start(_ plan: SpawnPlan, cgroupFD: Int32, stdio: SpawnStdio, deathSignal: Int32,
                      supervisor: Supervisor? = nil) throws(PartitionError) -> PendingProcess {
        let cPlan = CSpawnPlan(plan, cgroupFD: cgroupFD, stdio: stdio, deathSignal: deathSignal)
        var child = cspawn_child()
        var failure = cspawn_failure()
        let result: Int32
        if let supervisor {
            let arena = CArena()
            var program = cspawn_supervisor(path: arena.string(supervisor.path), argv: arena.stringArray(supervisor.arguments),
                                            envp: arena.stringArray(supervisor.environment),
                                            fds: supervisor.descriptors.isEmpty ? nil : arena.array(supervisor.descriptors),
                                            fd_count: supervisor.descriptors.count, pid_argument: Int32(supervisor.pidArgument))
            result = withUnsafePointer(to: &program) { cspawn_start(cPlan.plan, $0, &child, &failure) }
        } else {
            result = cspawn_start(cPlan.plan, nil, &child, &failure)
        }
        guard result == 0 else { throw SpawnFailure.error(failure) }
        return PendingProcess(child: child, plan: cPlan)
    }

    /// Forks a process that joins the running WPAR whose init `pidfd` pins (see cspawn_join.h).
    /// With `terminal`, the process opens a pseudo-terminal of the WPAR's devpts and sends its
    /// master over that socket (`stdio` is then not used).
    static func join(pidfd: Int32, namespaces: SpawnPlan.Namespaces, process: SpawnPlan.Process, stdio: SpawnStdio,
                     cgroupFD: Int32, becomeRoot: Bool,
                     terminal: (socket: Int32, size: TerminalSize?)? = nil) throws(PartitionError) -> PendingProcess {
        let arena = CArena()
        var join = cspawn_join(pidfd: pidfd, namespaces: namespaces.rawValue, cgroup_fd: cgroupFD, become_root: becomeRoot ? 1 : 0,
                               terminal_socket: terminal?.socket ?? -1, rows: terminal?.size?.rows ?? 0,
                               columns: terminal?.size?.columns ?? 0,
                               exec: CSpawnPlan.exec(process, stdio: stdio, arena: arena))
        var child = cspawn_child()
        var failure = cspawn_failure()
        guard cspawn_join_start(&join, &child, &failure) == 0 else { throw SpawnFailure.error(failure) }
        return PendingProcess(child: child, plan: nil)
    }

    /// Lets the process run its plan; returns once it has exec'd, or throws the step that failed.
    /// `trees` (the plan's passed trees) are opened, idmapped to the process's user namespace (its
    /// maps are written by now) and sent along.
    func release(passing trees: [SpawnPlan.PassedTree] = []) throws(PartitionError) {
        guard !settled else { return }
        let fds: [Int32]
        do {
            fds = try PassedTreeOpener.open(trees, userNamespaceOf: child.pid)
        } catch {
            abandon()
            throw error
        }
        defer { for fd in fds { close(fd) } }
        settled = true
        var failure = cspawn_failure()
        let released = fds.withUnsafeBufferPointer { cspawn_release_passing(&child, $0.baseAddress, $0.count, &failure) }
        guard released == 0 else {
            needsReaping = supervisorPid == nil
            throw SpawnFailure.error(failure)
        }
    }

    /// The process exits at once without running its plan.
    func abandon() {
        guard !settled else { return }
        settled = true
        cspawn_abandon(&child)
        needsReaping = supervisorPid == nil
    }
}
