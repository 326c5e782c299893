import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import WorkloadEngine
import SystemKit

/// A child process for tests, started with posix_spawn (the engine's own spawn path is not under
/// test here). With `held`, its stdin is a pipe and `release()` writes the line that lets it go on;
/// a shell waiting in `read` is a child that is paused until the test has done its setup.
final class TestChild {
    let pid: pid_t
    private var stdinWriter: Int32 = -1
    private var reaped = false

    init(_ arguments: [String], held: Bool = false) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var pipeEnds: [Int32] = [-1, -1]
        if held {
            guard closeOnExecPipe(&pipeEnds) else { throw TestFailure("pipe2 failed: errno \(errno)") }
            posix_spawn_file_actions_adddup2(&actions, pipeEnds[0], 0)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var attributes = CleanSignals()
        defer { posix_spawnattr_destroy(&attributes.value) }
        var child: pid_t = 0
        let result = posix_spawn(&child, arguments[0], &actions, &attributes.value, &argv, environ)
        if held { close(pipeEnds[0]) }
        guard result == 0 else {
            if held { close(pipeEnds[1]) }
            throw TestFailure("posix_spawn \(arguments[0]) failed: errno \(result)")
        }
        pid = child
        stdinWriter = pipeEnds[1]
    }

    /// Lets a held child continue past its `read`.
    func release() {
        guard stdinWriter >= 0 else { return }
        _ = write(stdinWriter, "go\n", 3)
        close(stdinWriter)
        stdinWriter = -1
    }

    /// Waits for the child and returns its wait status.
    @discardableResult
    func wait() -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        reaped = true
        return status
    }

    deinit {
        if stdinWriter >= 0 { close(stdinWriter) }
        if !reaped {
            kill(pid, SIGKILL)
            wait()
        }
    }

    /// Runs a command to its end and returns its exit status and its output (stdout and stderr).
    static func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        var ends: [Int32] = [-1, -1]
        guard closeOnExecPipe(&ends) else { throw TestFailure("pipe2 failed") }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var attributes = CleanSignals()
        defer { posix_spawnattr_destroy(&attributes.value) }
        var child: pid_t = 0
        let result = posix_spawnp(&child, arguments[0], &actions, &attributes.value, &argv, environ)
        close(ends[1])
        defer { close(ends[0]) }
        guard result == 0 else { throw TestFailure("posix_spawnp \(arguments[0]) failed: errno \(result)") }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(ends[0], &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            output += buffer[..<count]
        }
        var status: Int32 = 0
        while waitpid(child, &status, 0) == -1 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return (exitStatus, String(decoding: output, as: UTF8.self))
    }
}

/// Spawn attributes that give the child an empty signal mask and default dispositions: the test
/// runner's threads block signals (SIGTERM among them), and a spawned child inherits the mask.
struct CleanSignals {
    var value = posix_spawnattr_t()

    init() {
        posix_spawnattr_init(&value)
        var empty = sigset_t()
        sigemptyset(&empty)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigmask(&value, &empty)
        posix_spawnattr_setsigdefault(&value, &all)
        posix_spawnattr_setflags(&value, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    }
}

/// pipe2(O_CLOEXEC), which Glibc does not import: atomic, so a child that another test spawns at the
/// same moment never inherits the write end (and never holds a reader of `run` open).
func closeOnExecPipe(_ ends: inout [Int32]) -> Bool {
    typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    guard let symbol = SystemCall.libcFunction("pipe2") else { return false }
    return unsafeBitCast(symbol, to: Pipe2.self)(&ends, O_CLOEXEC) == 0
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Waits until `condition` holds or `seconds` pass; returns whether it held (the shared waitUntil).
func eventually(within seconds: Double = 5, _ condition: () throws -> Bool) rethrows -> Bool {
    try waitUntil(timeout: seconds, interval: 0.005, condition)
}

@Suite("Process identity")
struct RuntimeStateProcessIdentityTests {
    private static func statLine(comm: String, state: String = "S", startTime: UInt64) -> [UInt8] {
        // Fields 3…52 after the comm; field 22 (starttime) is the 20th of them.
        var rest = [state] + (4...52).map { String($0) }
        rest[19] = String(startTime)
        return Array("4242 (\(comm)) \(rest.joined(separator: " "))\n".utf8)
    }

    @Test("start time is field 22, whatever the command name holds",
          arguments: ["sleep", "a b", ") (", "x) S 1 2 3 (y", "((", "))", ""])
    func parsesStartTime(comm: String) throws {
        let stat = try #require(ProcessStat.parse(Self.statLine(comm: comm, startTime: 987_654_321)))
        #expect(stat.startTime == 987_654_321)
        #expect(stat.state == UInt8(ascii: "S"))
    }

    @Test("a zombie counts as exited")
    func zombieHasExited() throws {
        let stat = try #require(ProcessStat.parse(Self.statLine(comm: "z", state: "Z", startTime: 1)))
        #expect(stat.hasExited)
    }

    @Test("a real process whose command name is ') (' gets its true start time")
    func realProcessWithParenthesesInName() throws {
        // comm is the executable's file name: run sleep through a link named to confuse parsers.
        let directory = "/tmp/ptest-identity-\(getpid())"
        mkdir(directory, 0o700)
        defer { rmdir(directory) }
        let link = "\(directory)/a) (b c) d"
        #expect(symlink("/bin/sleep", link) == 0)
        defer { unlink(link) }
        let child = try TestChild([link, "30"])
        // posix_spawn returns once the child has dropped the parent's memory, a moment before exec
        // renames it: wait for the new name.
        #expect(eventually { SystemCall.readText("/proc/\(child.pid)/comm")?.hasPrefix("a) (b c) d") ?? false })

        let identity = try #require(try ProcessIdentity.current(pid: child.pid))
        let mine = try #require(try ProcessIdentity.current(pid: getpid()))
        // Started after this test process and before now (both in clock ticks since boot).
        let uptime = try #require(SystemCall.readText("/proc/uptime").flatMap { Double($0.split(separator: " ")[0]) })
        let ticksNow = UInt64(uptime * Double(sysconf(Int32(_SC_CLK_TCK)))) + 1
        #expect(identity.startTime >= mine.startTime && identity.startTime <= ticksNow)
        #expect(identity.bootID == BootID.current() && !identity.bootID.isEmpty)
        #expect(identity.isAlive())
    }

    @Test("an identity goes stale when its process exits, and is never signalled again")
    func staleAfterExit() throws {
        let child = try TestChild(["/bin/sleep", "30"])
        let identity = try #require(try ProcessIdentity.current(pid: child.pid))
        #expect(identity.isAlive())
        try identity.signal(SIGKILL)
        child.wait()
        #expect(!identity.isAlive())
        #expect(try ProcessIdentity.current(pid: child.pid) == nil)
        let error = #expect(throws: PartitionError.self) { try identity.signal(SIGKILL) }
        #expect(error?.code == .notFound)
        #expect(try identity.openPidfd() == nil)
    }

    @Test("a live PID with another start time or boot is not this process and is left alone")
    func reusedPidIsNotSignalled() throws {
        let child = try TestChild(["/bin/sleep", "30"])
        let real = try #require(try ProcessIdentity.current(pid: child.pid))
        let impostors = [
            ProcessIdentity(pid: child.pid, startTime: real.startTime + 1, bootID: real.bootID),
            ProcessIdentity(pid: child.pid, startTime: real.startTime, bootID: "an-earlier-boot"),
        ]
        for impostor in impostors {
            #expect(!impostor.isAlive())
            #expect(throws: PartitionError.self) { try impostor.signal(SIGKILL) }
        }
        // The child must have survived both attempts.
        var status: Int32 = 0
        #expect(waitpid(child.pid, &status, WNOHANG) == 0)
        #expect(real.isAlive())
    }

    @Test("a zombie is not alive, though its PID still exists")
    func zombieIsNotAlive() throws {
        let child = try TestChild(["/bin/true"])
        let identity = try #require(try ProcessIdentity.current(pid: child.pid))
        #expect(eventually { !identity.isAlive() })
        #expect(try ProcessIdentity.current(pid: child.pid) != nil)  // unreaped: still in /proc
        child.wait()
    }
}
