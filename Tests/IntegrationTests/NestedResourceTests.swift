import Foundation
import PartctlTestSupport
import Testing

/// Nested WPARs through the command line, beyond the main scenario: limits changed within the
/// LPAR's budget and enforced by cgroup v2 inside the guest, and an LPAR forced off under a running
/// command. Each test boots its own LPAR from partctl's guest image.
@Suite(.serialized) struct NestedResourceTests {
    /// partctl's metadata of the LPAR as libvirt keeps it in its definition.
    static func storedMetadata(_ lpar: String) throws -> String {
        try CLI.virsh("metadata", lpar, "http://partctl.org/xmlns/partition/1", "--config").stdout
    }

    static func bootWithWeb(_ lpar: String) throws {
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let activate = try CLI.partctl("activate", lpar, timeout: 180)
        try #require(activate.status == 0, "\(activate.stderr)")
        try #require(CLI.partctl("define", "\(lpar)/web", "--profile", "wpar-app-web").status == 0)
        let start = try CLI.partctl("activate", "\(lpar)/web")
        try #require(start.status == 0, "\(start.stderr)")
    }

    @Test func limitsChangeWithinTheLparAndAreEnforcedInsideTheGuest() throws {
        let lpar = "ptest-c-nlimits"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try Self.bootWithWeb(lpar)
        let web = "\(lpar)/web"
        let stored = try Self.storedMetadata(lpar)

        // Too big for the LPAR (512MiB, 2 vCPUs): refused with the numbers, nothing changed.
        expectRefusal(try CLI.partctl("modify", web, "-i", "memory_max=1GiB", "--live"), mentioning: [web, "1GiB", "512MiB"])
        expectRefusal(try CLI.partctl("modify", web, "-i", "cpu_max=3"), mentioning: [web, "cpu max 3", "2 vCPUs"])
        #expect(try CLI.partctl("query", web, "-F", "memory_max,cpu_max").stdout == "64MiB,0.5\n")
        #expect(try Self.storedMetadata(lpar) == stored)

        // Live: the cgroup inside the guest changes, the stored definition does not.
        let live = try CLI.partctl("modify", web, "-i", "memory_max=32MiB,cpu_max=0.25", "--live")
        #expect(live.status == 0, "\(live.stderr)")
        #expect(try CLI.partctl("query", web, "-F", "memory_max,cpu_max").stdout == "32MiB,0.25\n")
        #expect(try Self.storedMetadata(lpar) == stored)

        // cgroup v2 inside the guest enforces it: a 64 MiB buffer is OOM-killed, the agent answers on.
        let hog = try CLI.partctl("login", web, "--", "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1")
        #expect(hog.status == 137, "expected SIGKILL by the OOM killer (137), got \(hog.status): \(hog.stderr)")
        #expect(try CLI.partctl("login", web, "--", "/bin/true").status == 0)

        // Config: the definition in the LPAR's metadata changes, the running WPAR does not.
        let config = try CLI.partctl("modify", web, "-i", "memory_max=48MiB", "--config")
        #expect(config.status == 0, "\(config.stderr)")
        #expect(try Self.storedMetadata(lpar).contains("\"memory\":{\"max\":\"48MiB\"}"))
        #expect(try CLI.partctl("query", web, "-F", "memory_max").stdout == "32MiB\n")

        // A stopped WPAR has nothing to change live; its next activation takes the stored definition.
        let shutdown = try CLI.partctl("shutdown", web, "--within", "5", "--force", timeout: 60)
        #expect(shutdown.status == 0, "\(shutdown.stderr)")
        expectRefusal(try CLI.partctl("modify", web, "-i", "memory_max=40MiB", "--live"), mentioning: [web, "not running"])
        #expect(try CLI.partctl("activate", web).status == 0)
        #expect(try CLI.partctl("query", web, "-F", "memory_max").stdout == "48MiB\n")

        #expect(try CLI.partctl("remove", lpar, "--force").status == 0)
    }

    /// Interactive login and console stream over the agent channel: fed here through stdin (a pipe,
    /// or a pseudo-terminal made by script(1)) and read back from stdout.
    @Test func loginAndConsoleStreamThroughTheAgent() throws {
        let lpar = "ptest-c-nsession"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try Self.bootWithWeb(lpar)
        let web = "\(lpar)/web"

        // No command, stdin a pipe: a shell reading it, stdout and stderr apart, its exit status kept.
        let piped = try CLI.run("/bin/sh", ["-c", "printf 'echo hello-$((6*7))\\necho oops >&2\\nexit 3\\n' | \"$0\" login \"$1\"",
                                            CLI.binary, web])
        #expect(piped.status == 3, "\(piped.stderr)")
        #expect(piped.stdout == "hello-42\n")
        #expect(piped.stderr == "oops\n")

        // On a terminal: a terminal inside the WPAR too, as large as the host's.
        let session = try TerminalSession("stty rows 33 cols 101; \(CLI.binary) login \(web)")
        #expect(session.waitForShell(timeout: 30), "no shell in \(web): \(session.output.suffix(300))")
        session.type("tty; stty size; exit 4\r")
        let terminal = session.finish(within: 60)
        #expect(terminal.status == 4, "\(terminal.stdout)")
        #expect(terminal.stdout.contains("/dev/pts/"), "\(terminal.stdout)")
        #expect(terminal.stdout.contains("33 101"), "the terminal inside has not the host's size: \(terminal.stdout)")

        // The console replays what the WPAR's init wrote; ~. leaves and the WPAR runs on.
        #expect(try CLI.partctl("login", web, "--", "sh", "-c", "echo console-hello >/proc/1/fd/1").status == 0)
        let attached = try BackgroundProcess(CLI.binary, ["console", web], input: .pipe)
        #expect(attached.waitForOutput(containing: "console-hello", timeout: 30), "\(attached.stdout)")
        attached.send("\r~.")
        let console = attached.finish(within: 30)
        #expect(console.status == 0, "\(console.stderr)")
        #expect(console.stdout.contains("console-hello"), "\(console.stdout)")
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "running\n")
        expectRefusal(try CLI.partctl("console", web, "--log"), mentioning: [web, "console"])

        #expect(try CLI.partctl("remove", lpar, "--force").status == 0)
    }

    @Test func anLparForcedOffUnderACommandFailsItCleanlyAndKeepsItsWpars() throws {
        let lpar = "ptest-c-nforce"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try Self.bootWithWeb(lpar)
        let web = "\(lpar)/web"

        // A long command in the nested WPAR, then the LPAR forced off under it.
        let login = try BackgroundProcess(CLI.partctlPath, ["login", web, "--", "sleep", "30"])
        // Nothing to wait for: a nested command's output comes back only when it ends (partagent
        // captures it) and the agent's channel is held meanwhile, so no sign shows it started. The
        // pause gives it time to; the check after it is that the command still runs.
        usleep(3_000_000)
        #expect(login.isRunning, "the nested command ended early: \(login.stderr)")
        let started = Date()
        #expect(try CLI.partctl("force", lpar).status == 0)
        let status = login.finish(within: 20).status
        #expect(Date().timeIntervalSince(started) < 20, "the login did not notice its LPAR stopping")
        #expect(status != 0)
        let lines = login.stderr.split(separator: "\n")
        #expect(lines.count == 1 && login.stderr.contains(web) && login.stderr.contains("stopped"),
                "expected one line naming \(web) and why: \(login.stderr)")

        // The definitions stay in the LPAR's metadata; its next activation brings autostart WPARs back.
        #expect(try Self.storedMetadata(lpar).contains("<wpar name=\"web\""))
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "defined\n")
        let again = try CLI.partctl("activate", lpar, timeout: 180)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(try CLI.partctl("query", web, "-F", "state").stdout == "running\n")

        #expect(try CLI.partctl("remove", lpar, "--force").status == 0)
    }
}
