import Foundation
import Testing

/// The same for WPARs nested in an LPAR (issue 9, parts 3 and 4), in partctl's guest image:
/// `activate --no-wait` returns while the LPAR is `starting`; busybox httpd (wpar-app-web) stops
/// in time under the minimal init; without it a stop that times out leaves the WPAR running, and
/// `restart --force` / `shutdown --force` escalate.
@Suite(.serialized) struct LifecycleNestedTests {
    /// Only a waiting activation brings autostart WPARs back, so `--no-wait` is refused for an LPAR
    /// that has them (exit 2), and the LPAR is left as it was.
    @Test func noWaitIsRefusedForAnLparWithAutostartWpars() throws {
        let lpar = "ptest-lc-auto"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        try #require(CLI.partctl("define", "\(lpar)/web", "--profile", "wpar-app-web", "-i", "autostart=true").status == 0)
        let refused = try CLI.partctl("activate", lpar, "--no-wait")
        #expect(refused.status == 2 && refused.stderr.contains("autostart"), "\(refused.stderr)")
        #expect(try CLI.partctl("query", lpar, "-F", "state").stdout == "defined\n")
    }

    @Test func nestedStopsEndAndNoWaitShowsStarting() throws {
        let lpar = "ptest-lc-lpar"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-lc-nested-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let bare = directory.appendingPathComponent("web-noinit.yaml")
        try "extends: wpar-app-web\nautostart: false\ninit: false\n".write(to: bare, atomically: true, encoding: .utf8)

        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let started = try CLI.partctl("activate", lpar, "--no-wait", "--json", timeout: 60)
        try #require(started.status == 0, "\(started.stderr)")
        #expect(started.stdout == "{\"path\":\"\(lpar)\",\"state\":\"starting\"}\n", "returned before the agent is up")
        #expect(try CLI.partctl("query", lpar, "-F", "state").stdout == "starting\n")
        let up = try CLI.waitFor(120, interval: 0.5) { try CLI.partctl("query", lpar, "-F", "state").stdout == "running\n" }
        try #require(up, "the LPAR's agent port never opened: \(CLI.consoleLog(lpar))")

        // With the init (the default): httpd, PID 1's child, ends on SIGTERM.
        let web = "\(lpar)/web"
        try #require(CLI.partctl("define", web, "--profile", "wpar-app-web").status == 0)
        let activate = try CLI.partctl("activate", web, timeout: 120)
        try #require(activate.status == 0, "\(activate.stderr)")
        #expect(try CLI.partctl("login", web, "--", "cat", "/proc/1/cmdline").stdout.hasPrefix("tini\0-g\0--\0"))
        let clock = Date()
        let stop = try CLI.partctl("shutdown", web, "--within", "20", timeout: 60)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(Date().timeIntervalSince(clock) < 10)
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "defined\n")

        // Without it: httpd as PID 1 ignores SIGTERM.
        let plain = "\(lpar)/plain"
        try #require(CLI.partctl("define", plain, "--profile", bare.path).status == 0)
        try #require(CLI.partctl("activate", plain, timeout: 120).status == 0)
        let timedOut = try CLI.partctl("shutdown", plain, "--within", "2", timeout: 60)
        #expect(timedOut.status == 1)
        #expect(timedOut.stderr.split(separator: "\n").count == 1 && timedOut.stderr.contains("--force"), "\(timedOut.stderr)")
        #expect(try CLI.partctl("query", plain, "-F", "state").stdout == "running\n", "not stuck in stopping")
        let restart = try CLI.partctl("restart", plain, "--within", "2", "--force", timeout: 120)
        #expect(restart.status == 0, "\(restart.stderr)")
        #expect(try CLI.partctl("query", plain, "-F", "state").stdout == "running\n")
        let forced = try CLI.partctl("shutdown", plain, "--within", "2", "--force", timeout: 60)
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try CLI.partctl("query", plain, "-F", "state").stdout == "defined\n")

        // On a terminal the LPAR's shutdown says what it waits for, then what it did.
        let shown = try CLI.run("/usr/bin/script", ["-qefc", "\(CLI.binary) shutdown \(lpar) --within 60", "/dev/null"], timeout: 120)
        #expect(shown.status == 0, "\(shown.stdout)")
        #expect(shown.stdout.contains("\r\u{1B}[K\(lpar): guest is shutting down… "), "\(shown.stdout.debugDescription)")
        #expect(shown.stdout.range(of: "\(lpar): stopped \\(defined\\) in [0-9]+\\.[0-9]s", options: .regularExpression) != nil,
                "\(shown.stdout.debugDescription)")
        // And its activation, what it waits for: the agent.
        let boot = try CLI.run("/usr/bin/script", ["-qefc", "\(CLI.binary) activate \(lpar)", "/dev/null"], timeout: 180)
        #expect(boot.status == 0, "\(boot.stdout)")
        #expect(boot.stdout.contains("\r\u{1B}[K\(lpar): waiting for the agent… "), "\(boot.stdout.debugDescription)")
        #expect(boot.stdout.range(of: "\(lpar): activated \\(running\\) in [0-9]+\\.[0-9]s", options: .regularExpression) != nil,
                "\(boot.stdout.debugDescription)")
        #expect(try CLI.partctl("remove", lpar, "--force", timeout: 120).status == 0)
    }
}
