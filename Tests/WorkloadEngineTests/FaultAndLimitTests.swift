import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import WorkloadEngine

/// The engine driven from separate processes (wpar-probe): killed at every point of activation,
/// activated concurrently; and limits that hold against a fork bomb.
@Suite(.serialized) struct FaultAndLimitTests {
    static let activationPoints = [
        "activate-planned", "activate-runtime-made", "activate-cgroup-made", "activate-spawned",
        "activate-attached", "activate-released", "activate-recorded",
    ]

    static func define(_ name: String, in sandbox: EngineSandbox, limits: WorkloadLimits = WorkloadLimits(pidsMax: 64)) throws -> PartitionName {
        let root = try sandbox.busyboxRoot()
        let partition = try PartitionName(name)
        try sandbox.engine.define(partition, spec: SystemWparTests.spec(name, root: .directory(path: root),
                                                                        command: SystemWparTests.quickInit, limits: limits))
        return partition
    }

    /// `kill -9` of the activating command at each point leaves nothing that stops the next
    /// activation, and after it is stopped nothing is left at all.
    @Test(arguments: activationPoints)
    func activationKilledAt(_ point: String) throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-fault", in: sandbox)
        let killed = try ProbeProcess.run(["activate", "ptest-fault"], sandbox: sandbox, fault: point)
        #expect(killed.killed, "the probe was not killed at \(point): \(killed.errorOutput)")

        let again = try ProbeProcess.run(["activate", "ptest-fault"], sandbox: sandbox)
        #expect(again.status == 0, "activation after a kill at \(point) failed: \(again.errorOutput)")
        #expect(try sandbox.engine.status(name).state == .running)
        #expect(try sandbox.exec("ptest-fault", ["/bin/true"]).status == 0)
        try sandbox.engine.shutdown(name, within: 5)
        let left = Leftovers.of("ptest-fault", in: sandbox)
        #expect(left.isEmpty, "after a kill at \(point): \(left)")
    }

    /// A killed command's leftovers are also repaired by a command other than activate.
    @Test func statusShowsAndRemoveRepairsAnAbandonedStart() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-abandon", in: sandbox)
        _ = try ProbeProcess.run(["activate", "ptest-abandon"], sandbox: sandbox, fault: "activate-cgroup-made")
        #expect(!EngineSandbox.cgroupDirectories(named: "ptest-abandon").isEmpty)
        try sandbox.engine.remove(name)
        #expect(Leftovers.of("ptest-abandon", in: sandbox).isEmpty)
    }

    /// 20 activations at once: exactly one wins, every other one says why it did not.
    @Test func concurrentActivationsHaveOneWinner() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-race", in: sandbox)
        let started = try (0..<20).map { _ in try ProbeProcess.start(["activate", "ptest-race"], sandbox: sandbox) }
        let outcomes = started.map(ProbeProcess.finish)
        #expect(outcomes.filter { $0.status == 0 }.count == 1)
        for loser in outcomes where loser.status != 0 {
            #expect(loser.errorOutput.contains("already active") || loser.errorOutput.contains("busy"), "\(loser.errorOutput)")
        }
        #expect(try sandbox.engine.status(name).state == .running)
        try sandbox.engine.force(name)
        #expect(Leftovers.of("ptest-race", in: sandbox).isEmpty)
    }

    /// A fork bomb stays under pids.max, the host keeps answering, and shutdown still ends it
    /// within seconds (its init ignores the stop signal here, so the cgroup is killed).
    @Test func forkBombIsContainedAndStopped() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let name = try PartitionName("ptest-bomb")
        try sandbox.engine.define(name, spec: SystemWparTests.spec("ptest-bomb", root: .directory(path: root),
            command: ["/bin/sh", "-c", "trap '' TERM; b() { b | b & }; b; sleep 100000"], limits: WorkloadLimits(pidsMax: 48)))
        try sandbox.engine.activate(name)
        // Stopped also when a check below throws: a bomb left running would starve every later test.
        defer { try? sandbox.engine.force(name) }
        // Wait for the bomb to reach the limit (a loaded machine forks slowly), never past it.
        var highest = 0
        let reached = try eventually(within: 20) {
            let current = try #require(try sandbox.engine.usage(name)).pidsCurrent ?? 0
            highest = max(highest, current)
            #expect(current <= 48)
            return current >= 40
        }
        #expect(reached, "the bomb did not reach the limit within 20 seconds: at most \(highest) tasks")
        // The host still starts processes.
        #expect(try sandbox.run(try sandbox.application("ptest-alive", "exit 0")).status == 0)
        let stop = HostSystem.monotonicSeconds()
        try sandbox.engine.shutdown(name, within: 1, force: true)
        #expect(HostSystem.monotonicSeconds() - stop < 8)
        #expect(try sandbox.engine.status(name).state == .defined)
        #expect(Leftovers.of("ptest-bomb", in: sandbox).isEmpty)
    }

    /// Without --force, a WPAR that ignores its stop signal keeps running and the timeout is said.
    @Test func shutdownWithoutForceReportsTimeout() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let name = try PartitionName("ptest-stubborn")
        try sandbox.engine.define(name, spec: SystemWparTests.spec("ptest-stubborn", root: .directory(path: root),
                                                                   command: ["/bin/sh", "-c", "trap '' TERM; sleep 100000"]))
        try sandbox.engine.activate(name)
        #expect {
            try sandbox.engine.shutdown(name, within: 0.3, force: false)
        } throws: { ($0 as? PartitionError)?.code == .timeout }
        // Back to running, never left `stopping` (issue 9): the stop gave up, the WPAR runs on.
        #expect(try sandbox.engine.status(name).state == .running)
        try sandbox.engine.force(name)
        #expect(Leftovers.of("ptest-stubborn", in: sandbox).isEmpty)
    }

    /// 200 cycles of activate and shutdown (the figure) leak nothing.
    @Test func repeatedCyclesLeakNothing() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-cycle", in: sandbox)
        for _ in 0..<200 {
            try sandbox.engine.activate(name)
            try sandbox.engine.shutdown(name, within: 5)
            // Its cgroups are gone, so no process of it can be left anywhere.
            #expect(Leftovers.of("ptest-cycle", in: sandbox).isEmpty)
        }
        // Nor does this process collect zombies or descriptors.
        #expect(EngineSandbox.zombieChildren().isEmpty)
        let descriptors = EngineSandbox.openDescriptors()
        try sandbox.engine.activate(name)
        try sandbox.engine.shutdown(name, within: 5)
        #expect(EngineSandbox.openDescriptors() <= descriptors)
    }

    /// A supervisor that is killed takes its WPAR with it (parent-death signal), and the next
    /// command cleans up.
    @Test func killedSupervisorLeavesNothingRunning() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-orphan", in: sandbox)
        try sandbox.engine.activate(name)
        let status = try sandbox.engine.status(name)
        kill(status.supervisorPID!, SIGKILL)
        // Dead (the parent-death signal); at most a zombie until the host's init reaps it.
        #expect(waitUntil(timeout: 10) { !EngineSandbox.isRunning(status.initPID!) }, "the init outlived its supervisor")
        #expect(try sandbox.engine.status(name).state == .error)
        try sandbox.engine.activate(name)
        #expect(try sandbox.engine.status(name).state == .running)
        try sandbox.engine.force(name)
        #expect(Leftovers.of("ptest-orphan", in: sandbox).isEmpty)
    }

    @Test func liveLimitChange() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-modify", in: sandbox)
        try sandbox.engine.activate(name)
        defer { try? sandbox.engine.force(name) }
        try sandbox.engine.modify(name, limits: WorkloadLimits(pidsMax: 5), live: true, persistent: false)
        let result = try sandbox.exec("ptest-modify", ["/bin/sh", "-c", "for i in 1 2 3 4 5 6; do sleep 5 & done 2>/dev/null; wait"])
        #expect(result.status != 0 || result.output.contains("fork"), "six more tasks should not fit under pids.max 5")
        #expect(try sandbox.engine.definition(of: name).limits.pidsMax == 64)
        #expect {
            try sandbox.engine.modify(name, limits: WorkloadLimits(memoryMax: 1), live: true, persistent: true)
        } throws: { ($0 as? PartitionError)?.code == .outOfRange }
    }
}
