import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// Runs a host tool (xorriso, qemu-img) to its end: stdin from /dev/null, stdout and stderr
/// captured (bounded), PATH only in its environment, every signal at its default.
enum ToolRun {
    struct Outcome {
        var status: Int32
        var output: String
    }

    static func run(_ arguments: [String], limit: Int = 1 << 16) throws(PartitionError) -> Outcome {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIX.failure("make a pipe for \(arguments[0])", errno: errno) }
        // Close-on-exec at once: another thread's spawn must not inherit them (ours gets them by dup2).
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { (argv + envp).forEach { free($0) } }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        close(fds[1])
        defer { close(fds[0]) }
        guard spawned == 0 else { throw POSIX.failure("run \(arguments[0])", errno: spawned) }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(fds[0], &buffer, buffer.count)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            if output.count < limit { output += buffer[0..<min(count, limit - output.count)] }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        return Outcome(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f),
                       output: String(decoding: output, as: UTF8.self))
    }

    /// The first of `candidates` that is an executable file, or nil.
    static func find(_ candidates: [String]) -> String? {
        candidates.first { access($0, X_OK) == 0 }
    }
}
