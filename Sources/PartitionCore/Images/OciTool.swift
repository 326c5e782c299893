import Foundation
import Glibc
import PartitionModel
import SystemKit

/// The programs an OCI import runs (skopeo, umoci, gzip, zstd): started with posix_spawn, stdin
/// from /dev/null, no environment of the caller's but PATH and a temporary directory of the
/// import's own (so that a killed import leaves nothing outside its staging). Like the store's
/// ImageCommand, with a temporary directory and a streaming form (a layer through gzip).
struct OciTool {
    let program: String
    let arguments: [String]
    var temporaryDirectory: String?
    /// A staging lock the program holds too (as fd 3), so that after a kill -9 of partctl the
    /// store's sweep waits for the program instead of removing a tree it still writes into.
    var holding: Int32?

    /// What a finished program said and how it ended.
    struct Outcome {
        var status: Int32
        var output: String

        /// The last line that says something, with Go's logrus wrapping (time="…" level=fatal msg="…") taken off.
        var lastLine: String {
            let lines = output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard var line: String = lines.last else { return "it failed without a message" }
            if let range = line.range(of: "msg=\""), line.hasSuffix("\"") {
                line = String(line[range.upperBound..<line.index(before: line.endIndex)])
                line = line.replacingOccurrences(of: "\\\"", with: "\"")
            }
            return line
        }
    }

    /// Runs it to the end; stdout and stderr together, the last 64 KiB kept.
    func run() throws(PartitionError) -> Outcome {
        var pipeFDs: [Int32] = [-1, -1]
        guard Self.pipe(&pipeFDs) else { throw POSIX.failure("create a pipe for \(program)") }
        let pid: pid_t
        do throws(PartitionError) {
            pid = try spawn(stdout: pipeFDs[1], stderr: pipeFDs[1])
        } catch {
            close(pipeFDs[0]); close(pipeFDs[1])
            throw error
        }
        close(pipeFDs[1])
        let bytes = (try? FileIO.readAll(pipeFDs[0], limit: 1 << 16, truncating: true).get()) ?? []
        // Drain whatever is beyond the kept part, so the program never blocks on a full pipe.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16_384) { buffer in
            while POSIX.retryingInterrupts({ read(pipeFDs[0], buffer.baseAddress, 16_384) }) > 0 {}
        }
        close(pipeFDs[0])
        return Outcome(status: Self.wait(pid), output: String(decoding: bytes, as: UTF8.self))
    }

    /// Starts it with its stdout on a pipe that the caller reads (and closes) and its stderr on
    /// `stderr`; the caller waits for `pid`.
    func start(stderr: Int32) throws(PartitionError) -> (pid: pid_t, output: Int32) {
        var pipeFDs: [Int32] = [-1, -1]
        guard Self.pipe(&pipeFDs) else { throw POSIX.failure("create a pipe for \(program)") }
        do throws(PartitionError) {
            let pid = try spawn(stdout: pipeFDs[1], stderr: stderr)
            close(pipeFDs[1])
            return (pid, pipeFDs[0])
        } catch {
            close(pipeFDs[0]); close(pipeFDs[1])
            throw error
        }
    }

    /// A pipe whose ends are closed on exec (spawned programs get only the ends dup2 gives them).
    static func pipe(_ ends: inout [Int32]) -> Bool {
        guard Glibc.pipe(&ends) == 0 else { return false }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return true
    }

    /// The exit status, 128+N when killed by signal N.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    private func spawn(stdout: Int32, stderr: Int32) throws(PartitionError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // dup2 onto 3 clears close-on-exec there.
        if let holding { posix_spawn_file_actions_adddup2(&actions, holding, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        if let temporaryDirectory { environment.append("TMPDIR=\(temporaryDirectory)") }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        guard result == 0 else {
            if result == ENOENT {
                throw PartitionError(.unsupported, "\(program) is not installed; partctl imports OCI images with Debian's skopeo and umoci (apt install skopeo umoci).")
            }
            throw POSIX.failure("start \(program)", errno: result)
        }
        return pid
    }
}
