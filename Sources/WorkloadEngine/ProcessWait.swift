import Glibc
import PartitionModel

/// Waiting for processes: children by waitpid, others through a pidfd that pins them.
enum ProcessWait {
    /// Waits for our child `pid` and returns its exit status the way a shell shows it: the exit
    /// code, or 128 + the signal that killed it.
    static func exitCode(of pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 127 }
        }
        return shellStatus(status)
    }

    static func shellStatus(_ status: Int32) -> Int32 {
        let signal = status & 0x7f
        return signal == 0 ? (status >> 8) & 0xff : 128 + signal
    }

    /// Whether `process` has exited within `seconds` (true at once if it is already gone).
    static func waitForExit(_ process: ProcessIdentity, seconds: Double) -> Bool {
        guard let pidfd = try? process.openPidfd() else { return !process.isAlive() }
        defer { close(pidfd) }
        var entry = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        let deadline = HostSystem.monotonicSeconds() + seconds
        while true {
            let left = deadline - HostSystem.monotonicSeconds()
            if left <= 0 { return !process.isAlive() }
            let ready = poll(&entry, 1, Int32(left * 1000) + 1)
            if ready > 0 { return true }
            if ready < 0 && errno != EINTR { return !process.isAlive() }
        }
    }
}
