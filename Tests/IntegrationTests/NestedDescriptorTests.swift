import Foundation
import Testing

/// Issue 8, finding 4 in a nested WPAR: the agent runs the same engine, so a login there gets pipes
/// (non-interactive) or a terminal of the nested WPAR's own devpts (interactive), relayed by the
/// agent and by partctl on the host.
@Suite(.serialized) struct NestedDescriptorTests {
    @Test func nestedLoginHoldsPipesOrItsOwnTerminal() throws {
        let lpar = "ptest-nest-fd"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let activate = try CLI.partctl("activate", lpar, timeout: 180)
        try #require(activate.status == 0, "\(activate.stderr)")
        // An init that chroots into a tree whose dev is a symlink to / (the guest's) /dev: the
        // terminal must still come from the WPAR's own devpts.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nest-fd-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let profile = directory.appendingPathComponent("chroot-init.yaml").path
        try """
            extends: wpar-system
            command: [/bin/sh, -c, "mkdir -p /chr/bin && cp /bin/busybox /chr/bin/ && ln -sfn /dev /chr/dev && exec chroot /chr /bin/busybox sleep 1000000"]
            """.write(toFile: profile, atomically: true, encoding: .utf8)
        let tools = "\(lpar)/tools"
        try #require(CLI.partctl("define", tools, "--profile", profile).status == 0)
        let start = try CLI.partctl("activate", tools)
        try #require(start.status == 0, "\(start.stderr)")

        #expect(try CLI.waitFor(30) { try CLI.partctl("login", tools, "--", "test", "-e", "/chr/dev").status == 0 },
                "the init did not make its chroot")
        for fd in 0...2 {
            let login = try CLI.partctl("login", tools, "--", "readlink", "/proc/self/fd/\(fd)")
            #expect(login.status == 0, "\(login.stderr)")
            #expect(login.stdout.hasPrefix("pipe:"), "nested login: fd \(fd) is \(login.stdout)")
        }
        let inner = "echo fd0=$(stat -L -c %d /proc/self/fd/0) pts=$(stat -c %d /dev/pts) tty=$(tty); exit 4"
        let script = try CLI.run("/usr/bin/script", ["-qec", "\(CLI.partctlPath) login \(tools) -- sh -c '\(inner)'", "/dev/null"],
                                 timeout: 60)
        #expect(script.status == 4, "\(script.stdout) \(script.stderr)")
        func value(_ key: String) -> String? {
            guard let range = script.stdout.range(of: key + "=") else { return nil }
            return String(script.stdout[range.upperBound...].prefix { !$0.isWhitespace })
        }
        #expect(value("tty")?.hasPrefix("/dev/pts/") == true, "not a terminal: \(script.stdout)")
        #expect(value("fd0") != nil && value("fd0") == value("pts"), "not on the nested WPAR's devpts: \(script.stdout)")
    }
}
