import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine

/// prctl(2): variadic in C, so Swift does not import it; two integer arguments are all this needs.
@_silgen_name("prctl") private func processControl(_ option: Int32, _ argument: UInt) -> Int32

/// A child started without a supervisor shares the caller's memory until it execs (CLONE_VM): the
/// caller gets its state back whatever the child did, and a failure still names its step.
@Suite(.serialized) struct DirectSpawnTests {
    static func isDumpable() -> Bool { processControl(3 /* PR_GET_DUMPABLE */, 0) == 1 }

    /// The child's setup made the shared memory non-dumpable; the caller is dumpable again after a
    /// command that ran, one that failed in setup, and one that failed in execve.
    @Test func callerIsDumpableAgainAfterwards() throws {
        let sandbox = try EngineSandbox()
        #expect(Self.isDumpable())
        #expect(try sandbox.run(try sandbox.application("ptest-dump", "exit 3")).status == 3)
        #expect(Self.isDumpable())
        let missing = WorkloadSpec(name: try PartitionName("ptest-dump"), kind: .application, root: .host, command: ["ptest-no-such-program"])
        #expect(throws: PartitionError.self) { _ = try sandbox.run(missing) }
        #expect(Self.isDumpable())
        #expect(EngineSandbox.transientLeftovers().isEmpty)
    }

    /// Abandoning returns only once the child has let go of the memory it shared with us (an
    /// exiting task drops its memory before its descriptors; /proc then shows no Vm* lines).
    @Test func abandonedChildHasLeftOurMemoryWhenAbandonReturns() throws {
        let sandbox = try EngineSandbox()
        let spec = try sandbox.application("ptest-abandon", "exit 0")
        let plan = try SpawnPlan(spec: spec, host: sandbox.engine.host)
        var pending: PendingProcess? = try PendingProcess.start(plan, cgroupFD: -1, stdio: .inherited, deathSignal: SIGKILL)
        let pid = pending!.pid
        #expect(SystemCall.readText("/proc/\(pid)/status")?.contains("VmSize:") == true)
        pending!.abandon()
        #expect(SystemCall.readText("/proc/\(pid)/status")?.contains("VmSize:") == false)
        #expect(Self.isDumpable())
        pending = nil
        #expect(kill(pid, 0) == -1 && errno == ESRCH)
    }

    /// In a user namespace too, a failing step comes back with its name and errno.
    @Test func failureInUserNamespaceNamesTheStep() throws {
        let sandbox = try EngineSandbox()
        var spec = WorkloadSpec(name: try PartitionName("ptest-usernocmd"), kind: .application, root: .host, command: ["ptest-no-such-program"])
        spec.userNamespace = .shifted(by: 200_000)
        #expect {
            _ = try sandbox.run(spec)
        } throws: { error in
            let message = (error as? PartitionError)?.message ?? ""
            return message.contains("execve") && message.contains("not found inside the WPAR")
        }
        #expect(Self.isDumpable())
    }

    /// Without a supervisor there is no CLONE_INTO_CGROUP: a cgroup descriptor is refused, not ignored.
    @Test func cgroupDescriptorWithoutSupervisorIsRefused() throws {
        let sandbox = try EngineSandbox()
        let plan = try SpawnPlan(spec: try sandbox.application("ptest-cgfd", "exit 0"), host: sandbox.engine.host)
        let directory = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        defer { close(directory) }
        #expect {
            _ = try PendingProcess.start(plan, cgroupFD: directory, stdio: .inherited, deathSignal: SIGKILL)
        } throws: { error in
            let message = (error as? PartitionError)?.message ?? ""
            return message.contains("at clone") && message.contains("errno \(EINVAL)")
        }
    }
}
