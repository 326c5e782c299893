import Foundation
import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine
import SystemKit

/// Runtime state that lies: records from another boot, PIDs that now belong to someone else; and
/// the terminal paths of login and console.
@Suite(.serialized) struct RuntimeStateTests {
    static func define(_ name: String, in sandbox: EngineSandbox, userNamespace: UserNamespaceMapping? = nil,
                       console: Bool = false) throws -> PartitionName {
        let root = try sandbox.busyboxRoot()
        var spec = try SystemWparTests.spec(name, root: .directory(path: root), command: SystemWparTests.quickInit, console: console)
        spec.userNamespace = userNamespace
        let partition = try PartitionName(name)
        try sandbox.engine.define(partition, spec: spec)
        return partition
    }

    /// /run may survive a reboot here: a record naming processes of another boot means nothing.
    @Test func recordFromAnotherBootIsIgnoredAndRepaired() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-reboot", in: sandbox)
        let runtime = sandbox.paths.runtimeDirectory(for: name)
        try HostSystem.makeDirectories(runtime, mode: 0o700)
        let stale = ProcessIdentity(pid: 1, startTime: 1, bootID: "00000000-0000-0000-0000-000000000000")
        try WorkloadRuntimeRecord(phase: .running, supervisor: stale, initProcess: stale, startedAt: 0).write(to: runtime)
        #expect(try sandbox.engine.status(name).state == .defined)
        try sandbox.engine.activate(name)
        #expect(try sandbox.engine.status(name).state == .running)
        try sandbox.engine.force(name)
        #expect(Leftovers.of("ptest-reboot", in: sandbox).isEmpty)
    }

    /// A record whose PIDs now belong to other processes (start times differ): nobody is signalled.
    @Test func reusedPidsAreNeverSignalled() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-reused", in: sandbox)
        let bystander = Process()
        bystander.executableURL = URL(fileURLWithPath: "/bin/sleep")
        bystander.arguments = ["30"]
        try bystander.run()
        defer { kill(bystander.processIdentifier, SIGKILL); bystander.waitUntilExit() }
        let pid = bystander.processIdentifier
        let impostor = ProcessIdentity(pid: pid, startTime: 1, bootID: BootID.current())
        let runtime = sandbox.paths.runtimeDirectory(for: name)
        try HostSystem.makeDirectories(runtime, mode: 0o700)
        try WorkloadRuntimeRecord(phase: .running, supervisor: impostor, initProcess: impostor, startedAt: 0).write(to: runtime)
        #expect(try sandbox.engine.status(name).state == .error)
        // The stale record is cleaned up as leftovers of a dead WPAR (which then counts as stopped);
        // after that there is nothing to stop.
        try sandbox.engine.shutdown(name, within: 0.2)
        #expect(throws: PartitionError.self) { try sandbox.engine.force(name) }
        // A negative check, so time passing is the point: a signal sent to it would have ended it by now.
        HostSystem.sleep(seconds: 0.1)
        #expect(EngineSandbox.isRunning(pid))
        #expect(HostSystem.fileType(runtime) == nil)
    }

    /// login into a WPAR with a user namespace: the joining process enters it too.
    @Test func execJoinsTheUserNamespace() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-userns-sys", in: sandbox, userNamespace: .shifted(by: 300_000))
        try sandbox.engine.activate(name)
        defer { try? sandbox.engine.force(name) }
        let result = try sandbox.exec("ptest-userns-sys", ["/bin/sh", "-c", "id -u; cat /proc/self/uid_map"])
        #expect(result.status == 0)
        let lines = result.output.split(separator: "\n").map { $0.split(separator: " ").joined(separator: " ") }
        #expect(lines == ["0", "0 300000 65536"])
    }

    /// login with a terminal: the command gets a pseudo-terminal of the WPAR's own devpts as its
    /// controlling terminal.
    @Test func execWithTerminal() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-tty", in: sandbox)
        try sandbox.engine.activate(name)
        defer { try? sandbox.engine.force(name) }
        let result = try EngineSandbox.capturing { output in
            try sandbox.engine.exec(name, WorkloadCommand(arguments: ["/bin/sh", "-c", "tty; [ -t 0 ] && echo ptest-interactive; exit 4"],
                                                         terminal: true),
                                    input: output.null, output: output.write, error: output.write)
        }
        #expect(result.status == 4)
        #expect(result.output.contains("/dev/pts/"))
        #expect(result.output.contains("ptest-interactive"))
    }

    /// partctl console through the engine: input reaches the init's console, "~." detaches and the
    /// WPAR runs on.
    @Test func consoleEscapeDetaches() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot(inittab: "::respawn:-/bin/sh\n")
        let name = try PartitionName("ptest-escape")
        try sandbox.engine.define(name, spec: SystemWparTests.spec("ptest-escape", root: .directory(path: root), console: true))
        try sandbox.engine.activate(name)
        defer { try? sandbox.engine.force(name) }
        var input: [Int32] = [0, 0]
        var output: [Int32] = [0, 0]
        #expect(pipe(&input) == 0 && pipe(&output) == 0)
        let engine = sandbox.engine
        let (inputRead, outputWrite) = (input[0], output[1])
        let attached = Thread {
            try? engine.attachConsole(name, input: inputRead, output: outputWrite)
            close(outputWrite)
        }
        attached.start()
        #expect(HostSystem.writeAll(input[1], Array("echo ptest-$((5*5))\n".utf8)))
        #expect(SystemWparTests.read(output[0], until: "ptest-25", seconds: 5))
        #expect(HostSystem.writeAll(input[1], Array("\n~.".utf8)))
        // The relay ends: its output closes.
        #expect(Self.readsToEnd(output[0], seconds: 5))
        #expect(try sandbox.engine.status(name).state == .running)
        for fd in input + [output[0]] { close(fd) }
    }

    static func readsToEnd(_ fd: Int32, seconds: Double) -> Bool {
        let deadline = HostSystem.monotonicSeconds() + seconds
        var buffer = [UInt8](repeating: 0, count: 1024)
        while HostSystem.monotonicSeconds() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            if buffer.withUnsafeMutableBytes({ read(fd, $0.baseAddress, $0.count) }) <= 0 { return true }
        }
        return false
    }
}
