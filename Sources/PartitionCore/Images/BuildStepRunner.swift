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
        let ends = try HostProgram.pipe()

        let command = [setpriv, "--pdeathsig", "KILL", "--", unshare, "--pid", "--fork", "--kill-child", "--mount",
                       "--propagation", "private", "--"] + arguments
        let variables = environment.merging(["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C.UTF-8"]) { _, fixed in fixed }
        let pid: pid_t
        do throws(PartitionError) {
            pid = try HostProgram(command, environment: variables).spawn(stdout: ends.write, stderr: ends.write)
        } catch {
            close(ends.read); close(ends.write)
            throw error
        }
        close(ends.write)
        defer { close(ends.read) }

        var pending: [UInt8] = []
        var tail: [String] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        while true {
            let count = POSIX.retryingInterrupts { read(ends.read, &buffer, buffer.count) }
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
        let status = HostProgram.wait(pid)
        guard status == 0 else {
            let what = status < 128 ? "exited with status \(status)" : "was killed by signal \(status - 128)"
            let last = tail.last.map { ": \($0)" } ?? ""
            throw PartitionError(.system, "The image build step '\(step)' \(what)\(last) (the whole output is in \(log)).")
        }
    }
}
