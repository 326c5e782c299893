import Foundation
import PartctlTestSupport
import Testing

/// Runs the real partctl binary (built by `make test`, path in $PARTCTL_BIN) and real virsh, through
/// the shared test support (PartctlTestSupport: a timeout that kills, output in files).
enum CLI {
    typealias Result = ProcessResult

    /// The binary's path, for shell command lines.
    static var binary: String { partctlPath }

    static var partctlPath: String { BuiltProducts.partctl }

    static var packageRoot: String { BuiltProducts.packageRoot }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                    directory: String? = nil, input: String? = nil, timeout: TimeInterval = 120) throws -> Result {
        try TestProcess.run(executable, arguments, environment: environment, input: input, directory: directory, timeout: timeout)
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
        // partctl's own removal first, so that what it keeps per LPAR (channel locks) goes too;
        // virsh for what partctl refuses (an unmanaged domain) or a partctl that is broken.
        _ = try? partctl("remove", name, "--force")
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
        try waitUntil(timeout: seconds, interval: interval, condition)
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

/// An interactive command on a real terminal (script(1) gives it a pty), driven as a person would:
/// type only once what it waits for has appeared, never after a guessed pause.
final class TerminalSession {
    let process: BackgroundProcess

    /// `command` is a shell command line, run by script(1) in a new pty.
    init(_ command: String) throws {
        process = try BackgroundProcess("/usr/bin/script", ["-qfec", command, "/dev/null"], input: .pipe)
    }

    var output: String { process.stdout }

    func type(_ text: String) { process.send(text) }

    func waitFor(_ text: String, timeout: Double) -> Bool { process.waitForOutput(containing: text, timeout: timeout) }

    /// Waits until a shell reads the terminal: types a probe line until its answer appears (a line
    /// typed before the shell, or partctl's raw mode, was ready may be lost, so it is typed again).
    func waitForShell(timeout: Double) -> Bool {
        let answer = "ptest-ready-\(Int.random(in: 100...999))"
        let (first, second) = (answer.prefix(8), answer.dropFirst(8))
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline && process.isRunning {
            // Typed in two halves joined by the shell, so the echo of the typed line never matches.
            type("echo \(first)''\(second)\r")
            if waitFor(answer, timeout: 3) { return true }
        }
        return false
    }

    /// Types `command` into the shell and waits until it has run (a marker echoed after it).
    func run(_ command: String, timeout: Double = 30) -> Bool {
        let marker = "ptest-done-\(Int.random(in: 100...999))"
        type("\(command); echo \(marker.prefix(8))''\(marker.dropFirst(8))\r")
        return waitFor(marker, timeout: timeout)
    }

    func finish(within seconds: Double) -> ProcessResult { process.finish(within: seconds) }
}
