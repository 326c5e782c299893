import AgentProtocol
import Foundation
import Glibc
import PartitionModel
import WorkloadEngine

/// Paths of the built executables: $PARTCTL_BIN / $PARTAGENT_BIN, else next to the test bundle.
enum Built {
    static var directory: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
    }
    static func path(_ variable: String, _ name: String) -> String {
        if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty { return path }
        return directory + "/" + name
    }
    static var partctl: String { path("PARTCTL_BIN", "partctl") }
    static var partagent: String { path("PARTAGENT_BIN", "partagent") }
    static var supervisor: String { path("PARTCTL_SUPERVISOR", "partctl-supervisor") }
}

/// Runs a program to completion with output in files (no pipe can block it).
@discardableResult
func runProgram(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                timeout: TimeInterval = 120) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let directory = FileManager.default.temporaryDirectory
    let outURL = directory.appendingPathComponent("ptest-out-\(UUID().uuidString)")
    let errURL = directory.appendingPathComponent("ptest-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    process.standardOutput = try FileHandle(forWritingTo: outURL)
    process.standardError = try FileHandle(forWritingTo: errURL)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(10_000) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
}

/// A connected Unix socket driven as an agent conversation, for partagent's --socket mode.
final class SocketLink: Sendable {
    let descriptor: Int32

    init(path: String, timeout: TimeInterval = 10) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                let bytes = Array(path.utf8)
                raw.copyBytes(from: bytes)
                raw[bytes.count] = 0
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if connected == 0 {
                descriptor = fd
                return
            }
            close(fd)
            guard Date() < deadline else { throw PartitionError(.unavailable, "Nothing listens on \(path).") }
            usleep(20_000)
        }
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
