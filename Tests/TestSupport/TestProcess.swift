import Foundation
import Glibc

/// What a finished process left: its exit status (the signal number if a signal ended it, as
/// Foundation reports it), everything it wrote, and whether the timeout ended it.
public struct ProcessResult: Sendable, CustomStringConvertible {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var timedOut: Bool

    public var description: String { "status \(status)\(timedOut ? " (killed at its timeout)" : ""), stdout: \(stdout), stderr: \(stderr)" }
}

/// Runs programs for tests: arguments, environment and stdin given, stdout and stderr captured in
/// files (no pipe can fill up and block the program, no reader threads), and a timeout after which
/// the program is killed, so that a hung command fails its test instead of hanging the run.
public enum TestProcess {
    /// Runs `executable` to completion (or to `timeout` seconds, then SIGTERM and, two seconds
    /// later, SIGKILL). `input` is its whole stdin; without it stdin is /dev/null.
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                           input: String? = nil, directory: String? = nil, timeout: Double = 120) throws -> ProcessResult {
        let started = try BackgroundProcess(executable, arguments, environment: environment, input: input.map { .text($0) } ?? .null,
                                            directory: directory)
        return started.finish(within: timeout)
    }
}

/// A program left running while the test acts on it: its output in files that the test may read at
/// any time, its stdin /dev/null, a given text, or a pipe the test writes to (`send`).
public final class BackgroundProcess: @unchecked Sendable {
    public enum Input {
        case null
        case text(String)
        /// A pipe: `send` writes to it, `closeInput` ends it.
        case pipe
    }

    private let process = Process()
    private let outURL: URL
    private let errURL: URL
    private let exited = DispatchSemaphore(value: 0)
    private var inputPipe: Pipe?
    private var inputURL: URL?
    private var result: ProcessResult?

    public init(_ executable: String, _ arguments: [String], environment: [String: String] = [:], input: Input = .null,
                directory: String? = nil) throws {
        let temporary = FileManager.default.temporaryDirectory
        let id = UUID().uuidString
        outURL = temporary.appendingPathComponent("ptest-out-\(id)")
        errURL = temporary.appendingPathComponent("ptest-err-\(id)")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = URL(fileURLWithPath: directory ?? BuiltProducts.packageRoot)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        switch input {
        case .null:
            process.standardInput = FileHandle.nullDevice
        case .text(let text):
            let url = temporary.appendingPathComponent("ptest-in-\(id)")
            try Data(text.utf8).write(to: url)
            inputURL = url
            process.standardInput = try FileHandle(forReadingFrom: url)
        case .pipe:
            let pipe = Pipe()
            inputPipe = pipe
            process.standardInput = pipe
        }
        let exited = self.exited
        process.terminationHandler = { _ in exited.signal() }
        try process.run()
    }

    deinit {
        if result == nil { _ = finish(within: 0) }
        for url in [outURL, errURL] + (inputURL.map { [$0] } ?? []) { try? FileManager.default.removeItem(at: url) }
    }

    public var pid: pid_t { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }
    /// What it wrote so far.
    public var stdout: String { (try? String(contentsOf: outURL, encoding: .utf8)) ?? "" }
    public var stderr: String { (try? String(contentsOf: errURL, encoding: .utf8)) ?? "" }

    /// Writes `text` to its stdin (a `.pipe` input only).
    public func send(_ text: String) {
        inputPipe?.fileHandleForWriting.write(Data(text.utf8))
    }

    public func closeInput() {
        try? inputPipe?.fileHandleForWriting.close()
        inputPipe = nil
    }

    /// Waits until its stdout contains `text`, at most `timeout` seconds; false if it did not come
    /// (or the process ended without writing it).
    public func waitForOutput(containing text: String, timeout: Double) -> Bool {
        waitUntil(timeout: timeout) { stdout.contains(text) || !isRunning }
        return stdout.contains(text)
    }

    /// Waits for it to exit, at most `seconds`; then SIGTERM, and SIGKILL two seconds later.
    @discardableResult
    public func finish(within seconds: Double) -> ProcessResult {
        if let result { return result }
        closeInput()
        var timedOut = false
        if exited.wait(timeout: .now() + max(seconds, 0)) == .timedOut {
            timedOut = true
            kill(process.processIdentifier, SIGTERM)
            if exited.wait(timeout: .now() + 2) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                exited.wait()
            }
        }
        process.waitUntilExit()
        let finished = ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: stderr, timedOut: timedOut)
        result = finished
        return finished
    }
}
