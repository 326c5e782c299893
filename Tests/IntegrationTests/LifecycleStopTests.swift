import Foundation
import Testing

/// Stopping that always ends (issue 9, part 4): the minimal init of application WPARs, a stop
/// that times out leaving the WPAR `running` (never `stopping`), `restart --force`; and the
/// progress a terminal sees (part 3).
@Suite(.serialized) struct LifecycleStopTests {
    /// A directory of test profiles, removed when the test ends.
    final class Profiles {
        let directory: URL
        init() throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-lifecycle-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: directory) }

        /// An application WPAR profile running `command`, with `extra` YAML lines.
        func write(_ name: String, command: String, _ extra: String = "") throws -> String {
            let url = directory.appendingPathComponent("\(name).yaml")
            try "kind: wpar\nextends: wpar-app\ncommand: \(command)\n\(extra)".write(to: url, atomically: true, encoding: .utf8)
            return url.path
        }
    }

    /// PID 1 ignores SIGTERM unless it has a handler: sleep as PID 1 never ends on SIGTERM.
    static let sleeper = "[/bin/sleep, \"100000\"]"

    static func state(_ name: String) throws -> String {
        try CLI.partctl("query", name, "-F", "state").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func field(_ name: String, _ field: String) throws -> String {
        try CLI.partctl("query", name, "-F", field).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func define(_ name: String, _ profile: String) throws {
        HostWparTests.cleanup(name)
        let define = try CLI.partctl("define", name, "--profile", profile)
        try #require(define.status == 0, "\(define.stderr)")
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
    }

    /// Lines a refusal or failure printed.
    static func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

    /// With the init (the default), a command that is PID 1's child stops on SIGTERM; without it
    /// (`init: false`) the same command as PID 1 ignores SIGTERM: `shutdown --within 2` then ends
    /// with one line and exit 1, the WPAR back in `running` (not stuck in `stopping`), and only
    /// `--force` stops it.
    @Test func shutdownEndsWithTheInitAndLeavesRunningWithout() throws {
        let profiles = try Profiles()
        let withInit = "ptest-lc-init"
        let without = "ptest-lc-noinit"
        defer { HostWparTests.cleanup(withInit); HostWparTests.cleanup(without) }

        try Self.define(withInit, try profiles.write("with", command: Self.sleeper))
        let pid = try Self.field(withInit, "pid")
        let cmdline = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
        #expect(cmdline.hasPrefix("tini\0-g\0--\0/bin/sleep\0"), "PID 1 is the minimal init: \(cmdline)")
        let started = Date()
        let stop = try CLI.partctl("shutdown", withInit, "--within", "20")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(Date().timeIntervalSince(started) < 10, "the init passed SIGTERM on: it stopped at once")
        #expect(try Self.state(withInit) == "defined")
        // tini reports the command killed by SIGTERM as a shell does.
        #expect(try Self.field(withInit, "exit_status") == "143")

        try Self.define(without, try profiles.write("without", command: Self.sleeper, "init: false\n"))
        let bare = try String(contentsOfFile: "/proc/\(try Self.field(without, "pid"))/cmdline", encoding: .utf8)
        #expect(bare.hasPrefix("/bin/sleep\0"), "init: false runs the command as PID 1: \(bare)")
        let timedOut = try CLI.partctl("shutdown", without, "--within", "2")
        #expect(timedOut.status == 1)
        #expect(Self.lines(timedOut.stderr).count == 1 && timedOut.stderr.contains("--force"), "\(timedOut.stderr)")
        #expect(try Self.state(without) == "running", "a stop that gave up leaves the WPAR running, not stopping")
        let forced = try CLI.partctl("shutdown", without, "--within", "2", "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Self.state(without) == "defined")
    }

    /// `--within 0` is refused (exit 2, nothing done) unless `--force`, which stops at once.
    @Test func withinZeroNeedsForce() throws {
        let profiles = try Profiles()
        let name = "ptest-lc-zero"
        defer { HostWparTests.cleanup(name) }
        try Self.define(name, try profiles.write("zero", command: Self.sleeper, "init: false\n"))
        let refused = try CLI.partctl("shutdown", name, "--within", "0")
        #expect(refused.status == 2)
        #expect(Self.lines(refused.stderr).count == 1 && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try Self.state(name) == "running")
        let forced = try CLI.partctl("shutdown", name, "--within", "0", "--force")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try Self.state(name) == "defined")
    }

    /// `restart` whose graceful stop times out leaves the WPAR as it was and names `--force`;
    /// `restart --force` kills it when the time runs out and starts it again.
    @Test func restartForceEscalates() throws {
        let profiles = try Profiles()
        let name = "ptest-lc-restart"
        defer { HostWparTests.cleanup(name) }
        try Self.define(name, try profiles.write("restart", command: Self.sleeper, "init: false\n"))
        let before = try Self.field(name, "pid")
        let refused = try CLI.partctl("restart", name, "--within", "1")
        #expect(refused.status == 1)
        #expect(Self.lines(refused.stderr).count == 1 && refused.stderr.contains("--force"), "\(refused.stderr)")
        #expect(try Self.state(name) == "running")
        #expect(try Self.field(name, "pid") == before, "nothing was restarted")
        let forced = try CLI.partctl("restart", name, "--within", "1", "--force", "--json")
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout == "{\"path\":\"\(name)\",\"state\":\"running\"}\n")
        #expect(try Self.state(name) == "running")
        #expect(try Self.field(name, "pid") != before, "a new init runs")
    }

    /// Host PIDs of zombie children of `pid`.
    static func zombieChildren(of pid: String) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { entry in
            guard Int(entry) != nil, let status = try? String(contentsOfFile: "/proc/\(entry)/status", encoding: .utf8) else { return false }
            return status.contains("\nPPid:\t\(pid)\n") && status.contains("\nState:\tZ")
        }
    }

    /// Host PIDs of the children of `pid` (zombies included).
    static func children(of pid: String) -> [String] {
        ((try? String(contentsOfFile: "/proc/\(pid)/task/\(pid)/children", encoding: .utf8)) ?? "").split(separator: " ").map(String.init)
    }

    /// A process orphaned inside the WPAR is reaped by the init; without the init, PID 1 (here
    /// sleep) never reaps it and it stays a zombie: the test's premise, checked too.
    @Test func theInitReapsOrphans() throws {
        let profiles = try Profiles()
        // The subshell exits at once; its `sleep 1` is orphaned, reparented to PID 1, and ends.
        let command = "[/bin/sh, -c, \"(/bin/sleep 1 &); exec /bin/sleep 100000\"]"
        for (name, extra, reaped) in [("ptest-lc-reap", "", true), ("ptest-lc-noreap", "init: false\n", false)] {
            defer { HostWparTests.cleanup(name) }
            try Self.define(name, try profiles.write(name, command: command, extra))
            let pid = try Self.field(name, "pid")
            // The command: the init's child once it has exec'd sleep (or PID 1 itself without the init).
            func isCommand(_ child: String) -> Bool {
                ((try? String(contentsOfFile: "/proc/\(child)/cmdline", encoding: .utf8)) ?? "") == "/bin/sleep\u{0}100000\u{0}"
            }
            if reaped { _ = CLI.waitFor(10) { Self.children(of: pid).contains(where: isCommand) } }
            let command = try #require(reaped ? Self.children(of: pid).first(where: isCommand) : pid, "\(name): the init's child")
            // First the orphan appears below PID 1 (alive, or already a zombie)...
            let orphaned = CLI.waitFor(10) { Self.children(of: pid).contains { $0 != command } }
            #expect(orphaned, "\(name): no orphan reached PID 1")
            // ...then it ends: reaped by the init, left a zombie without it.
            let ended = CLI.waitFor(10) {
                let others = Self.children(of: pid).filter { $0 != command }
                return reaped ? others.isEmpty : (others.count == 1 && Self.zombieChildren(of: pid) == others)
            }
            #expect(ended, "\(name): children \(Self.children(of: pid)), zombies \(Self.zombieChildren(of: pid))")
        }
    }

    /// The stop signal reaches the command through the init: its trap runs and its exit code is
    /// the WPAR's.
    @Test func theInitForwardsTheStopSignal() throws {
        let profiles = try Profiles()
        let name = "ptest-lc-signal"
        defer { HostWparTests.cleanup(name) }
        try Self.define(name, try profiles.write("signal", command: "[/bin/sh, -c, \"trap 'exit 3' TERM; while :; do /bin/sleep 1; done\"]"))
        let stop = try CLI.partctl("shutdown", name, "--within", "20")
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try Self.field(name, "exit_status") == "3", "the command's own TERM trap ran")
    }

    /// `run` still exits with the command's status under the init.
    @Test func runKeepsTheExitStatus() throws {
        #expect(try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/sh", "-c", "exit 7").status == 7)
        #expect(try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/sh", "-c", "kill -TERM $$").status == 143)
        // A missing command is still reported by partctl, in one line, not by tini from inside.
        let missing = try CLI.partctl("run", "--profile", "wpar-app", "--", "/ptest-no-such-program")
        // Refused input (no such program; nothing was left), as every not-found is (docs/output.md).
        #expect(missing.status == 2)
        #expect(Self.lines(missing.stderr).count == 1 && missing.stderr.contains("not found inside the WPAR"), "\(missing.stderr)")
    }

    /// `shutdown --no-wait` returns once SIGTERM is sent: the WPAR shows `stopping`, and when it
    /// does not end within --within, `running` again.
    @Test func noWaitReturnsAtOnce() throws {
        let profiles = try Profiles()
        let name = "ptest-lc-nowait"
        defer { HostWparTests.cleanup(name) }
        try Self.define(name, try profiles.write("nowait", command: Self.sleeper, "init: false\n"))
        let request = try CLI.partctl("shutdown", name, "--no-wait", "--within", "3", "--json")
        #expect(request.status == 0, "\(request.stderr)")
        #expect(request.stdout == "{\"path\":\"\(name)\",\"state\":\"stopping\"}\n")
        #expect(try Self.state(name) == "stopping")
        #expect(try CLI.waitFor(10) { try Self.state(name) == "running" }, "the stop mark expires")
    }

    /// Runs `command` under a pseudo-terminal (script(1)) and returns what the terminal showed.
    static func underTerminal(_ command: String) throws -> (status: Int32, output: String) {
        let result = try CLI.run("/usr/bin/script", ["-qefc", command, "/dev/null"])
        return (result.status, result.stdout)
    }

    /// On a terminal: one line that updates in place with the elapsed time, erased at the end,
    /// then one line saying what was done. Piped: nothing; with --json the state as JSON.
    @Test func progressOnATerminalOnly() throws {
        let profiles = try Profiles()
        let name = "ptest-lc-progress"
        defer { HostWparTests.cleanup(name) }
        let profile = try profiles.write("progress", command: Self.sleeper, "init: false\n")
        try Self.define(name, profile)
        let shown = try Self.underTerminal("\(CLI.binary) shutdown \(name) --within 2 --force")
        #expect(shown.status == 0, "\(shown.output)")
        #expect(shown.output.contains("\r\u{1B}[K\(name): waiting for it to stop… 0s"), "\(shown.output.debugDescription)")
        #expect(shown.output.contains("\r\u{1B}[K\(name): waiting for it to stop… 1s"), "the line updates: \(shown.output.debugDescription)")
        #expect(shown.output.range(of: "\(name): stopped \\(defined\\) in [0-9]+\\.[0-9]s", options: .regularExpression) != nil,
                "\(shown.output.debugDescription)")

        let piped = try CLI.partctl("activate", name)
        #expect(piped.status == 0 && piped.stdout.isEmpty && piped.stderr.isEmpty, "piped: silent (\(piped.stderr))")
        let json = try CLI.partctl("shutdown", name, "--within", "1", "--force", "--json")
        #expect(json.status == 0 && json.stderr.isEmpty)
        #expect(json.stdout == "{\"path\":\"\(name)\",\"state\":\"defined\"}\n")
    }
}
