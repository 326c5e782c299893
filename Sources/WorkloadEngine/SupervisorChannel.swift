import Glibc
import PartitionModel

/// The socket between an activating partctl and the WPAR's new supervisor (its descriptor 3).
///
/// The supervisor writes "R" once it is ready; partctl answers "C" followed by the WPAR's cgroup
/// directories, one per line, and closes. If the socket closes before "C" arrives, the
/// supervisor abandons the WPAR: partctl died or gave up mid-activation.
final class SupervisorChannel {
    private var local: Int32
    /// The supervisor's end, handed to CSpawn; closed here once the supervisor has its copy.
    private(set) var remote: Int32

    init() throws(PartitionError) {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw HostSystem.failure("create the supervisor's control socket")
        }
        local = pair[0]
        remote = pair[1]
    }

    deinit {
        closeRemote()
        abandon()
    }

    func closeRemote() {
        if remote >= 0 { close(remote) }
        remote = -1
    }

    /// Waits until the supervisor reports that it is ready.
    func awaitReady(timeout seconds: Double) throws(PartitionError) {
        var entry = pollfd(fd: local, events: Int16(POLLIN), revents: 0)
        let deadline = HostSystem.monotonicSeconds() + seconds
        while true {
            let left = Int32(max(0, (deadline - HostSystem.monotonicSeconds()) * 1000))
            let ready = poll(&entry, 1, left)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                throw PartitionError(.timeout, "The WPAR's supervisor did not report ready within \(Int(seconds)) seconds.")
            }
            break
        }
        var byte: UInt8 = 0
        let got = read(local, &byte, 1)
        guard got == 1, byte == UInt8(ascii: "R") else {
            throw PartitionError(.system, "The WPAR's supervisor exited before it was ready (is \(SupervisorProgram.fileName) a working build?).")
        }
    }

    /// Hands the WPAR over to the supervisor for good.
    func commit(cgroupDirectories: [String]) throws(PartitionError) {
        let message = "C" + cgroupDirectories.map { $0 + "\n" }.joined()
        let sent = HostSystem.writeAll(local, Array(message.utf8))
        abandon()
        guard sent else { throw HostSystem.failure("hand the WPAR to its supervisor") }
    }

    /// Closes our end: an uncommitted supervisor then kills the init and exits.
    func abandon() {
        if local >= 0 { close(local) }
        local = -1
    }
}
