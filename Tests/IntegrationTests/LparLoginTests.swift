import Foundation
import Testing

/// `partctl login LPAR`: a command as root in the guest itself, outside every WPAR, through the
/// agent (lpar-minimal's guest image), with stdin, stdout, stderr and the exit status kept.
@Suite(.serialized) struct LparLoginTests {
    @Test func aCommandRunsInTheGuestItself() throws {
        let lpar = "ptest-login"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let stopped = try CLI.partctl("login", lpar, "--", "true")
        expectRefusal(stopped, status: 1, mentioning: ["not running"])
        try #require(CLI.partctl("activate", lpar, timeout: 120).status == 0, "\(CLI.consoleLog(lpar))")

        #expect(try CLI.partctl("login", lpar, "--", "sh", "-c", "exit 7").status == 7)
        let comm = try CLI.partctl("login", lpar, "--", "cat", "/proc/1/comm")
        #expect(comm.status == 0 && comm.stdout == "init\n", "\(comm.stdout) \(comm.stderr)")
        // PID 1's own namespaces: not a WPAR's.
        let namespaces = try CLI.partctl("login", lpar, "--", "sh", "-c",
                                         "for n in pid mnt uts net; do [ $(readlink /proc/self/ns/$n) = $(readlink /proc/1/ns/$n) ] || echo $n; done; id -u")
        #expect(namespaces.stdout == "0\n", "\(namespaces.stdout) \(namespaces.stderr)")
        // stdin in, stdout and stderr apart, and nothing of the caller's environment.
        let relayed = try CLI.run(CLI.partctlPath, ["login", lpar, "--", "sh", "-c", "read x; echo \"got $x\"; echo oops >&2; env"],
                                  environment: ["PTEST_SECRET": "leak"], input: "hello\n")
        #expect(relayed.status == 0, "\(relayed.stderr)")
        #expect(relayed.stdout.hasPrefix("got hello\n") && relayed.stderr == "oops\n", "\(relayed.stdout) | \(relayed.stderr)")
        #expect(!relayed.stdout.contains("PTEST_SECRET") && relayed.stdout.contains("PATH=/usr/local/sbin:"), "\(relayed.stdout)")

        // Interactive: a shell on a terminal of the guest.
        let session = try TerminalSession("\(CLI.binary) login \(lpar)")
        #expect(session.waitForShell(timeout: 60), "no shell: \(session.output)")
        #expect(session.run("tty"))
        session.type("exit 5\r")
        let ended = session.finish(within: 20)
        #expect(ended.status == 5, "\(session.output)")
        #expect(session.output.contains("/dev/pts/"), "\(session.output)")
    }

    /// An LPAR without an agent: refused in one line that says what to do, exit 2.
    @Test func anLparWithoutAnAgentIsRefused() throws {
        let lpar = "ptest-login-noagent"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-memtest").status == 0)
        expectRefusal(try CLI.partctl("login", lpar, "--", "true"), status: 2, mentioning: ["agent", "partctl console \(lpar)"])
    }
}
