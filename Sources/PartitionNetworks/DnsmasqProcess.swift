import Glibc
import PartitionModel
import SystemKit

/// The dnsmasq of one managed network: started detached (it daemonises into a session of its own;
/// partctl's descriptors are close-on-exec and dnsmasq closes the rest), found again by its pid
/// file, and recognised as ours by /proc/<pid>/exe and a command line that names our configuration.
public struct DnsmasqProcess: Sendable {
    public let directory: String

    public init(directory: String) { self.directory = directory }

    public var configPath: String { "\(directory)/dnsmasq.conf" }
    public var pidPath: String { "\(directory)/dnsmasq.pid" }
    public var leasePath: String { "\(directory)/dnsmasq.leases" }
    var configArgument: String { "--conf-file=\(configPath)" }

    /// The pid of our running dnsmasq, or nil (no pid file, a dead process, or a reused pid).
    public func runningPid() -> pid_t? {
        guard let text = FileIO.readText(pidPath, limit: 64),
              let pid = pid_t(text.filter { !$0.isWhitespace }), pid > 1 else { return nil }
        return isOurs(pid) ? pid : nil
    }

    func isOurs(_ pid: pid_t) -> Bool {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/\(pid)/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return false }
        let exe = String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard exe.hasSuffix("/dnsmasq") || exe.hasSuffix("/dnsmasq (deleted)") else { return false }
        guard case .success(let bytes) = FileIO.readFile("/proc/\(pid)/cmdline", limit: 1 << 16) else { return false }
        return bytes.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == configArgument }
    }

    /// Starts dnsmasq on the configuration in place; returns once it runs (dnsmasq's parent exits
    /// when the daemon is ready, or with its complaint).
    public func start() throws(PartitionError) {
        unlink(pidPath)
        let outcome = try HostProgram(["dnsmasq", configArgument]).run()
        guard outcome.status == 0 else {
            throw PartitionError(.system, "Could not start dnsmasq for \(directory): \(outcome.lastLine)")
        }
        guard runningPid() != nil else {
            throw PartitionError(.system, "dnsmasq for \(directory) started but is not running; see \(directory)/dnsmasq.log.")
        }
    }

    /// Stops our dnsmasq if it runs: SIGTERM, then SIGKILL after 5 seconds.
    public func stop() {
        guard let pid = runningPid() else { return }
        kill(pid, SIGTERM)
        let deadline = POSIX.monotonicSeconds() + 5
        var pause = 0.002
        while isOurs(pid) {
            if POSIX.monotonicSeconds() > deadline {
                kill(pid, SIGKILL)
            }
            POSIX.sleep(seconds: pause)
            pause = min(pause * 2, 0.05)
        }
        unlink(pidPath)
    }
}
