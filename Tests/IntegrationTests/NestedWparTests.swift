import Foundation
import Testing

/// WPARs nested in an LPAR through the partctl command line: the scenario of issue 4, end to end,
/// in one test LPAR booted from partctl's guest image.
@Suite(.serialized) struct NestedWparTests {
    /// Types a command into the LPAR's console shell through a real pty, waits until it has run,
    /// then leaves with ~.
    static func typeOnConsole(_ lpar: String, _ command: String) throws {
        let session = try TerminalSession("\(CLI.binary) console \(lpar)")
        #expect(session.waitForShell(timeout: 30), "no shell on the console: \(session.output.suffix(300))")
        #expect(session.run(command), "the command did not finish: \(session.output.suffix(300))")
        session.type("\r~.")
        let ended = session.finish(within: 30)
        #expect(ended.status == 0 && !ended.timedOut, "console: \(ended.stdout.suffix(300))")
    }

    /// A system WPAR in the guest: its own root (an overlay on the guest's busybox tree), busybox
    /// init as its PID 1, none of the guest's processes, /usr shared read-only from the guest.
    static func systemWparInside(_ lpar: String) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nested-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = directory.appendingPathComponent("tools.yaml")
        try "extends: wpar-system\nshared: [/usr]\n".write(to: profile, atomically: true, encoding: .utf8)

        let tools = "\(lpar)/tools"
        try #require(CLI.partctl("define", tools, "--profile", profile.path).status == 0)
        #expect(try CLI.partctl("query", tools, "-F", "type,state").stdout == "system,defined\n")
        let start = try CLI.partctl("activate", tools)
        try #require(start.status == 0, "\(start.stderr)")
        let initLine = try CLI.partctl("login", tools, "--", "cat", "/proc/1/cmdline")
        #expect(initLine.stdout.replacingOccurrences(of: "\0", with: " ").hasPrefix("/bin/busybox init"), "PID 1: \(initLine.stdout)")
        let ps = try CLI.partctl("login", tools, "--", "ps")
        #expect(ps.status == 0)
        #expect(!ps.stdout.contains("partagent"), "the guest's processes are visible: \(ps.stdout)")
        #expect(try CLI.partctl("login", tools, "--", "touch", "/usr/ptest").status != 0, "/usr is writable")
        #expect(try CLI.partctl("login", tools, "--", "touch", "/ptest-own-root").status == 0, "its own root is not writable")
        #expect(try CLI.partctl("query", tools, "-F", "type,state").stdout == "system,running\n")
        let stop = try CLI.partctl("shutdown", tools, "--within", "10", "--force", timeout: 60)
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try CLI.partctl("remove", tools).status == 0)
    }

    /// Two user-namespaced system WPARs in one LPAR: the agent allocates each its own range inside
    /// the guest, and root inside writes its own root (issue 8).
    @Test func nestedUserNamespacedSystemWpars() throws {
        let lpar = "ptest-nest-uns"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nested-uns-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = directory.appendingPathComponent("uns.yaml")
        try "extends: wpar-system\nuser_namespace: true\nshared: [/usr]\n".write(to: profile, atomically: true, encoding: .utf8)
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let activate = try CLI.partctl("activate", lpar, timeout: 180)
        try #require(activate.status == 0, "\(activate.stderr)")

        var ranges: [[String]] = []
        for name in ["a", "b"] {
            let path = "\(lpar)/\(name)"
            try #require(CLI.partctl("define", path, "--profile", profile.path).status == 0)
            let start = try CLI.partctl("activate", path)
            try #require(start.status == 0, "\(start.stderr)")
            let map = try CLI.partctl("login", path, "--", "sh", "-c", "id -u; cat /proc/1/uid_map")
            #expect(map.status == 0, "\(map.stderr)")
            let lines = map.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(lines.first == ["0"], "\(map.stdout)")
            ranges.append(lines.dropFirst().first ?? [])
            let write = try CLI.partctl("login", path, "--", "sh", "-c", "echo ptest > /ptest-own-root && cat /ptest-own-root")
            #expect(write.status == 0 && write.stdout == "ptest\n", "root cannot write its root: \(write.stderr)")
        }
        #expect(ranges.allSatisfy { $0.count == 3 && $0[0] == "0" && $0[2] == "65536" }, "\(ranges)")
        if ranges.allSatisfy({ $0.count == 3 }), let a = UInt64(ranges[0][1]), let b = UInt64(ranges[1][1]) {
            #expect(a + 65536 <= b || b + 65536 <= a, "the ranges overlap: \(ranges)")
        }
        for name in ["a", "b"] {
            #expect(try CLI.partctl("remove", "\(lpar)/\(name)", "--force", timeout: 60).status == 0)
        }
    }

    @Test func nestedApplicationWparScenario() throws {
        let lpar = "ptest-nest-cli"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let activate = try CLI.partctl("activate", lpar, timeout: 180)
        try #require(activate.status == 0, "activate returns once the agent answered: \(activate.stderr)")

        // Bad nested input: too deep, missing LPAR, too big for its LPAR.
        expectRefusal(try CLI.partctl("define", "\(lpar)/web/x", "--profile", "wpar-app-web"), mentioning: ["too deep"])
        expectRefusal(try CLI.partctl("define", "ptest-nolpar/web", "--profile", "wpar-app-web"), mentioning: ["ptest-nolpar"])
        expectRefusal(try CLI.partctl("define", "\(lpar)/big", "--profile", "wpar-app-web", "-i", "memory_max=1GiB"),
                      mentioning: ["1GiB", "512MiB"])

        let web = "\(lpar)/web"
        try #require(CLI.partctl("define", web, "--profile", "wpar-app-web").status == 0)
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "defined\n")
        let start = try CLI.partctl("activate", web)
        try #require(start.status == 0, "\(start.stderr)")
        let cmdline = try CLI.partctl("login", web, "--", "cat", "/proc/1/cmdline")
        #expect(cmdline.status == 0)
        #expect(cmdline.stdout.contains("httpd"), "PID 1 of the nested WPAR: \(cmdline.stdout)")
        let page = try CLI.waitFor(10) {
            try CLI.partctl("login", web, "--", "wget", "-q", "-O", "-", "http://127.0.0.1:8080/").stdout.contains("partctl web")
        }
        #expect(page, "the nested WPAR does not serve its page")
        #expect(try CLI.partctl("login", web, "--", "sh", "-c", "exit 5").status == 5)
        // /usr is the guest's, read-only inside the WPAR.
        #expect(try CLI.partctl("login", web, "--", "touch", "/usr/ptest").status != 0)

        let tree = try CLI.partctl("tree", "--json")
        #expect(tree.stdout.contains("\"path\":\"\(web)\",\"kind\":\"wpar\",\"state\":\"running\""), "\(tree.stdout)")
        #expect(tree.stdout.contains("\"agent\":\"0."), "\(tree.stdout)")

        try Self.systemWparInside(lpar)

        // Agent faults: a frozen agent makes its WPARs unavailable and commands fail with one clear
        // line; once it runs again, everything recovers (stale bytes in the channel included).
        try Self.typeOnConsole(lpar, "kill -STOP $(pidof partagent)")
        let frozen = try CLI.partctl("tree", "--json")
        #expect(frozen.stdout.contains("\"path\":\"\(web)\",\"kind\":\"wpar\",\"state\":\"unavailable\""), "\(frozen.stdout)")
        #expect(frozen.stdout.contains("\"agent\":\"unavailable\""), "\(frozen.stdout)")
        expectRefusal(try CLI.partctl("login", web, "--", "/bin/true", timeout: 60), mentioning: [web, "agent"])
        try Self.typeOnConsole(lpar, "kill -CONT $(pidof partagent)")
        let recovered = try CLI.waitFor(20) { try CLI.partctl("query", web, "-F", "state").stdout == "running\n" }
        #expect(recovered, "the nested WPAR did not come back after the agent resumed")
        #expect(try CLI.partctl("login", web, "--", "/bin/true").status == 0)

        // Shutting the LPAR down stops its WPARs first; they stay defined, never lost.
        let shutdown = try CLI.partctl("shutdown", lpar, "--within", "60", timeout: 120)
        #expect(shutdown.status == 0, "\(shutdown.stderr)")
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "defined\n")

        // Activating the LPAR brings its autostart WPARs back by themselves.
        let again = try CLI.partctl("activate", lpar, timeout: 180)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "running\n")

        #expect(try CLI.partctl("remove", web, "--force").status == 0)
        #expect(try CLI.partctl("query", web).status == 2)
        #expect(try CLI.partctl("remove", lpar, "--force").status == 0)
    }
}
