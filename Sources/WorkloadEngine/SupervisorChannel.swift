import Glibc
import PartitionModel

/// The socket between an activating partctl and the WPAR's new supervisor (its descriptor 3).
///
/// The supervisor writes "R" once it is ready; partctl answers "C" followed by the WPAR's cgroup
/// directories, one per line; the supervisor acknowledges with "A" and partctl closes. If the socket closes before "C" arrives, the
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
        try awaitByte(UInt8(ascii: "R"), timeout: seconds, what: "report ready")
    }

    private func awaitByte(_ expected: UInt8, timeout seconds: Double, what: String) throws(PartitionError) {
        var entry = pollfd(fd: local, events: Int16(POLLIN), revents: 0)
        let deadline = HostSystem.monotonicSeconds() + seconds
        while true {
            let left = Int32(max(0, (deadline - HostSystem.monotonicSeconds()) * 1000))
            let ready = poll(&entry, 1, left)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 {
                throw PartitionError(.timeout, "The WPAR's supervisor did not \(what) within \(Int(seconds)) seconds.")
            }
            break
        }
        var byte: UInt8 = 0
        let got = read(local, &byte, 1)
        guard got == 1, byte == expected else {
            throw PartitionError(.system, "The WPAR's supervisor exited before it could \(what) (is \(SupervisorProgram.fileName) a working build?).")
        }
    }

    /// Hands the WPAR over to the supervisor for good, and returns once the supervisor has marked
    /// it committed (so that a command right after this one finds it active).
    func commit(cgroupDirectories: [String]) throws(PartitionError) {
        let message = "C" + cgroupDirectories.map { $0 + "\n" }.joined()
        guard HostSystem.writeAll(local, Array(message.utf8)) else {
            throw HostSystem.failure("hand the WPAR to its supervisor")
        }
        try awaitByte(UInt8(ascii: "A"), timeout: 10, what: "confirm that it holds the WPAR")
        abandon()
    }

    /// Closes our end: an uncommitted supervisor then kills the init and exits.
    func abandon() {
        if local >= 0 { close(local) }
        local = -1
    }
}
