import Glibc
import PartitionModel
import SystemKit

/// Runs one step of an image build (a program and its children: mmdebstrap, apt, dpkg, mkfs) so
/// that nothing of it outlives partctl, even when partctl is killed with SIGKILL:
///
///     setpriv --pdeathsig KILL -- unshare --pid --fork --kill-child --mount --propagation private -- STEP
///
/// setpriv makes the kernel kill unshare when partctl (this thread) dies; unshare's --kill-child
/// kills the step, PID 1 of a PID namespace of its own, and with it every process of the namespace;
/// the mounts the step makes (mmdebstrap's /proc, /dev, /sys in the chroot) live in a mount
/// namespace of its own and go with its last process. So a killed build leaves only files in its
/// staging directory, which the next `image` command sweeps.
///
/// Lines the step writes that start with `step: ` are progress; everything goes to `log`.
enum BuildStepRunner {
    static let setpriv = "/usr/bin/setpriv"
    static let unshare = "/usr/bin/unshare"

    static func run(_ step: String, _ arguments: [String], environment: [String: String], log: String,
                    progress: (String) -> Void) throws(PartitionError) {
        for tool in [setpriv, unshare] where access(tool, X_OK) != 0 {
            throw PartitionError(.unavailable, "\(tool) is missing (package util-linux); image builds need it.")
        }
        let logFD = POSIX.retryingInterrupts { open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        guard logFD >= 0 else { throw POSIX.failure("open the build log \(log)") }
        defer { close(logFD) }
        let ends = try CommandOutput.pipeEnds()

        let command = [setpriv, "--pdeathsig", "KILL", "--", unshare, "--pid", "--fork", "--kill-child", "--mount",
                       "--propagation", "private", "--"] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t(), allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        let variables = environment.merging(["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"]) { _, fixed in fixed }
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = variables.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, envp)
        close(ends[1])
        defer { close(ends[0]) }
        guard spawned == 0 else { throw POSIX.failure("start \(command[0])", errno: spawned) }

        var pending: [UInt8] = []
        var tail: [String] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = POSIX.retryingInterrupts { read(ends[0], &buffer, buffer.count) }
            if count <= 0 { break }
            _ = FileIO.writeAll(logFD, Array(buffer[0..<count]))
            pending += buffer[0..<count]
            while let newline = pending.firstIndex(of: 0x0a) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if line.hasPrefix("step: ") {
                    progress(String(line.dropFirst(6)))
                } else if !line.isEmpty {
                    tail.append(line)
                    if tail.count > 3 { tail.removeFirst() }
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = (status & 0x7f) == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            let what = exited ? "exited with status \(code)" : "was killed by signal \(status & 0x7f)"
            let last = tail.last.map { ": \($0)" } ?? ""
            throw PartitionError(.system, "The image build step '\(step)' \(what)\(last) (the whole output is in \(log)).")
        }
    }
}
