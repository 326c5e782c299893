import Foundation
import Glibc

/// partagent on the host over its --socket endpoint, with state directories of its own below a
/// fresh /tmp/ptest-… directory: the agent's side of the protocol against the real engine.
final class SocketAgent {
    let directory: String
    var socketPath: String { directory + "/agent.sock" }
    private let process = Process()

    init(_ label: String) throws {
        directory = "/tmp/ptest-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: Built.partagent)
        process.arguments = ["--socket", socketPath]
        process.environment = ["PARTCTL_ROOT": directory + "/definitions", "PARTCTL_RUNTIME_ROOT": directory + "/runtime",
                               "PARTCTL_SUPERVISOR": Built.supervisor, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Kills the agent and removes its directories (the caller first removes what it made through it).
    func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
