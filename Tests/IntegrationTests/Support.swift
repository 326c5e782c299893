import Foundation
import Testing

/// Runs the real partctl binary (built by `make test`, path in $PARTCTL_BIN) and real virsh.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// The binary's path, for shell command lines.
    static var binary: String { partctlPath }

    static var partctlPath: String {
        if let path = ProcessInfo.processInfo.environment["PARTCTL_BIN"], !path.isEmpty { return path }
        // `swift test` without make: the debug build next to the test bundle.
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return here.appendingPathComponent(".build/debug/partctl").path
    }

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: String? = nil, timeout: TimeInterval = 120) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? packageRoot)
        // Output goes to files: no pipe can fill up and block the process, no reader threads.
        let tmp = FileManager.default.temporaryDirectory
        let outURL = tmp.appendingPathComponent("ptest-out-\(UUID().uuidString)")
        let errURL = tmp.appendingPathComponent("ptest-err-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning {
            process.terminate()
        }
        process.waitUntilExit()
        try out.close()
        try err.close()
        let outData = try Data(contentsOf: outURL), errData = try Data(contentsOf: errURL)
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    @discardableResult
    static func partctl(_ arguments: String..., environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Result {
        try run(partctlPath, arguments, environment: environment, timeout: timeout)
    }

    static func partctl(arguments: [String], environment: [String: String] = [:]) throws -> Result {
        try run(partctlPath, arguments, environment: environment)
    }

    @discardableResult
    static func virsh(_ arguments: String...) throws -> Result {
        try run("/usr/bin/virsh", ["-c", "qemu:///system"] + arguments)
    }

    /// Every domain libvirt has, for "nothing changed" checks.
    static func domainNames() throws -> [String] {
        try virsh("list", "--all", "--name").stdout.split(separator: "\n").map(String.init).sorted()
    }

    /// Removes a test domain whatever state it is in; for cleanup after success and failure alike.
    static func removeDomain(_ name: String) {
        precondition(name.hasPrefix("ptest-"), "tests only remove what they made")
        _ = try? virsh("destroy", name)
        _ = try? virsh("undefine", name, "--nvram")
        _ = try? run("/bin/rm", ["-f", "/var/log/libvirt/qemu/\(name)-console.log"])
    }

    /// What the partition wrote to its console, for failure messages.
    static func consoleLog(_ name: String) -> String {
        (try? partctl("console", name, "--log").stdout) ?? ""
    }

    /// Polls until `condition` holds or `seconds` pass.
    static func waitFor(_ seconds: Double, interval: Double = 0.2, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(UInt32(interval * 1_000_000))
        }
        return try condition()
    }
}

/// A refusal is one line on stderr naming the problem, with a non-zero status.
func expectRefusal(_ result: CLI.Result, status: Int32? = nil, mentioning words: [String],
                   sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(result.status != 0, "expected a refusal, got status 0: \(result.stdout)", sourceLocation: sourceLocation)
    if let status { #expect(result.status == status, "status \(result.status): \(result.stderr)", sourceLocation: sourceLocation) }
    let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: true)
    #expect(lines.count == 1, "expected one line on stderr, got: \(result.stderr)", sourceLocation: sourceLocation)
    for word in words {
        #expect(result.stderr.contains(word), "stderr lacks '\(word)': \(result.stderr)", sourceLocation: sourceLocation)
    }
}
