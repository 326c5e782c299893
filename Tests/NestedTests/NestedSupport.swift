import AgentProtocol
import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import WorkloadEngine

/// Paths of the built executables (the shared test support's BuiltProducts).
enum Built {
    static var partctl: String { BuiltProducts.partctl }
    static var partagent: String { BuiltProducts.partagent }
    static var supervisor: String { BuiltProducts.supervisor }
}

/// Runs a program to completion with output in files (no pipe can block it), killed at `timeout`.
@discardableResult
func runProgram(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
    let result = try TestProcess.run(executable, arguments, environment: environment, timeout: timeout)
    return (result.status, result.stdout, result.stderr)
}

/// A connected Unix socket driven as an agent conversation, for partagent's --socket mode.
final class SocketLink: Sendable {
    let descriptor: Int32

    init(path: String, timeout: TimeInterval = 10) throws {
        var connected: Int32 = -1
        // The agent under test creates the socket when it is ready: wait for a connect to succeed.
        waitUntil(timeout: timeout, interval: 0.02) {
            connected = Self.connect(path)
            return connected >= 0
        }
        guard connected >= 0 else { throw PartitionError(.unavailable, "Nothing listens on \(path).") }
        descriptor = connected
    }

    private static func connect(_ path: String) -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            let bytes = Array(path.utf8)
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 { return fd }
        close(fd)
        return -1
    }

    deinit { close(descriptor) }

    func send(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return }
            offset += count
        }
    }

    func receive(max: Int, timeout: Duration) throws(PartitionError) -> [UInt8] {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&request, 1, Swift.max(milliseconds, 1)) > 0 else { throw PartitionError(.timeout, "No data within \(timeout).") }
        var buffer = [UInt8](repeating: 0, count: max)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        return count > 0 ? Array(buffer[..<count]) : []
    }

    var conversation: AgentConversation {
        AgentConversation(send: { (bytes: [UInt8], _: Duration) throws(PartitionError) in self.send(bytes) },
                          receive: { (max: Int, timeout: Duration) throws(PartitionError) -> [UInt8] in
                              try self.receive(max: max, timeout: timeout)
                          })
    }
}

/// An application WPAR running `command` with the host's (or guest's) root read-only.
func applicationSpec(_ name: String, command: [String], memoryMax: UInt64 = 64 << 20, console: Bool = false) throws -> WorkloadSpec {
    var spec = WorkloadSpec(name: try PartitionName(name), kind: .application, root: .host, command: command,
                            limits: WorkloadLimits(memoryMax: memoryMax, pidsMax: 32))
    spec.console = console
    return spec
}
