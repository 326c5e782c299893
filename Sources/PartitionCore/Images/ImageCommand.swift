import Glibc
import PartitionModel
import SystemKit

/// A program an image producer runs (cp, tar, ...): posix_spawn, stdin from /dev/null, no
/// environment of the caller's but PATH and LC_ALL, stdout and stderr kept for the message. With
/// `holding`, the child also gets that descriptor (a staging lock), so the lock lives as long as
/// the child writes into the staging, whatever happens to partctl.
struct ImageCommand {
    let program: String
    let arguments: [String]
    var holding: Int32?

    struct Outcome {
        var status: Int32
        var output: String

        var lastLine: String {
            output.split(separator: "\n").last.map(String.init) ?? "it failed without a message (exit status \(status))"
        }
    }

    func run() throws(PartitionError) -> Outcome {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw POSIX.failure("create a pipe for \(program)") }
        for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        // dup2 onto 3 clears close-on-exec there: the child holds the lock too.
        if let holding { posix_spawn_file_actions_adddup2(&actions, holding, 3) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let environment = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let started = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        close(ends[1])
        guard started == 0 else {
            close(ends[0])
            throw POSIX.failure("start \(program)", errno: started)
        }
        let bytes = (try? FileIO.readAll(ends[0], limit: 1 << 16, truncating: true).get()) ?? []
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16_384) { buffer in
            while POSIX.retryingInterrupts({ read(ends[0], buffer.baseAddress, 16_384) }) > 0 {}
        }
        close(ends[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let signal = status & 0x7f
        return Outcome(status: signal == 0 ? (status >> 8) & 0xff : 128 + signal, output: String(decoding: bytes, as: UTF8.self))
    }
}
