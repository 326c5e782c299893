import Foundation
import Testing

/// Issue 8, finding 4: a workload never holds the caller's descriptors. It gets pipes (or a
/// terminal of its WPAR's own devpts) that partctl relays while the command runs and closes after,
/// so nothing left behind can write the caller's files or read the caller's input later.
@Suite(.serialized) struct WparDescriptorTests {
    static func remove(_ name: String) {
        precondition(name.hasPrefix("ptest-"))
        _ = try? CLI.partctl("remove", name, "--force")
    }

    /// A private host directory (0700) for files only root may touch; removed with the value.
    final class PrivateDirectory {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-fd-\(UUID().uuidString)").path
        init() throws {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
        }
        deinit { try? FileManager.default.removeItem(atPath: path) }
    }

    static func shell(_ script: String) throws -> CLI.Result {
        try CLI.run("/bin/sh", ["-c", script], environment: ["PARTCTL": CLI.partctlPath])
    }

    static func activate(_ name: String, profile: String) throws {
        remove(name)
        let define = try CLI.partctl("define", name, "--profile", profile)
        try #require(define.status == 0, "\(define.stderr)")
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
    }

    /// Waits until `path` exists inside the WPAR (what a background process there made when done).
    static func waitForFile(_ name: String, _ path: String) throws -> Bool {
        try CLI.waitFor(15) { try CLI.partctl("login", name, "--", "test", "-e", path).status == 0 }
    }

    @Test func workloadDescriptorsArePipes() throws {
        for fd in 0...2 {
            let run = try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/readlink", "/proc/self/fd/\(fd)")
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.hasPrefix("pipe:"), "run: fd \(fd) is \(run.stdout)")
        }
        let name = "ptest-fd-pipes"
        defer { Self.remove(name) }
        try Self.activate(name, profile: "wpar-system")
        for fd in 0...2 {
            let login = try CLI.partctl("login", name, "--", "readlink", "/proc/self/fd/\(fd)")
            #expect(login.status == 0, "\(login.stderr)")
            #expect(login.stdout.hasPrefix("pipe:"), "login: fd \(fd) is \(login.stdout)")
        }
    }

    /// Output, errors, input and its end, exit status, binary data larger than any pipe.
    @Test func relayKeepsStreamsAndStatus() throws {
        let directory = try PrivateDirectory()
        let script = """
            set -e
            d=\(directory.path)
            head -c 3000000 /dev/urandom > $d/data
            "$PARTCTL" run --profile wpar-app -- /bin/cat < $d/data > $d/copy
            cmp $d/data $d/copy
            test "$(printf 'a\\nb\\n' | "$PARTCTL" run --profile wpar-app -- /bin/sh -c 'wc -l; echo e >&2; exit 9' 2>$d/err)" = 2 || exit 30
            test "$(cat $d/err)" = e
            status=0; "$PARTCTL" run --profile wpar-app -- /bin/sh -c 'exit 9' || status=$?
            test $status = 9
            "$PARTCTL" run --profile wpar-app -- /bin/sh -c 'yes' | head -c 4 | grep -q y
            echo ok
            """
        let result = try Self.shell(script)
        #expect(result.status == 0 && result.stdout == "ok\n", "\(result.stdout) \(result.stderr)")
    }

    /// The exploit: a process left in the background reopens /proc/self/fd/1 after login returned.
    @Test func backgroundProcessCannotWriteTheCallersFile() throws {
        let name = "ptest-fd-write"
        defer { Self.remove(name) }
        try Self.activate(name, profile: "wpar-system")
        let directory = try PrivateDirectory()
        let target = directory.path + "/root-only"
        try "original\n".write(toFile: target, atomically: false, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: target)
        // 1<> opens read-write, so that the open does not wait for a reader when fd 1 is a pipe. The
        // sleep is the attack itself (act after login returned), not a wait for readiness.
        let login = try Self.shell("""
            "$PARTCTL" login \(name) -- sh -c '(sleep 2; echo pwned 1<>/proc/self/fd/1; touch /tmp/ptest-done) &' >> \(target)
            """)
        #expect(login.status == 0, "\(login.stderr)")
        #expect(try Self.waitForFile(name, "/tmp/ptest-done"), "the background process never finished")
        let contents = try String(contentsOfFile: target, encoding: .utf8)
        #expect(contents == "original\n", "the WPAR wrote the caller's file after login returned: \(contents)")
    }

    /// The caller's input (a FIFO here, as it could be the admin's terminal) written after login
    /// returned never reaches a process the command left behind. (Through fd 4: sh gives a
    /// background list /dev/null as its stdin.)
    @Test func backgroundProcessCannotReadTheCallersInput() throws {
        let name = "ptest-fd-read"
        defer { Self.remove(name) }
        try Self.activate(name, profile: "wpar-system")
        let directory = try PrivateDirectory()
        // The sleep is the attack (read after login returned); /tmp/ptest-read-done is awaited below.
        let result = try Self.shell("""
            mkfifo \(directory.path)/input
            exec 3<>\(directory.path)/input
            "$PARTCTL" login \(name) -- sh -c 'exec 4<&0; (sleep 1; head -c 6 <&4 > /tmp/ptest-stolen; touch /tmp/ptest-read-done) &' < \(directory.path)/input
            echo secret >&3
            """)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.waitForFile(name, "/tmp/ptest-read-done"), "the background process never finished")
        let stolen = try CLI.partctl("login", name, "--", "cat", "/tmp/ptest-stolen")
        #expect(stolen.status == 0 && stolen.stdout.isEmpty, "the WPAR read the caller's input after login returned: \(stolen.stdout)")
    }

    /// An interactive login's terminal is a /dev/pts/N of the WPAR's own devpts, also when the init
    /// has chrooted into a tree whose dev is a symlink to the host's /dev.
    @Test func interactiveLoginUsesTheWparsOwnDevpts() throws {
        let name = "ptest-fd-tty"
        defer { Self.remove(name) }
        let directory = try PrivateDirectory()
        let profile = directory.path + "/chroot-init.yaml"
        try """
            extends: wpar-system
            command: [/bin/sh, -c, "mkdir -p /chr/bin && cp /bin/busybox /chr/bin/ && ln -sfn /dev /chr/dev && exec chroot /chr /bin/busybox sleep 1000000"]
            """.write(toFile: profile, atomically: true, encoding: .utf8)
        try Self.activate(name, profile: profile)
        #expect(try Self.waitForFile(name, "/chr/dev"), "the init did not make its chroot")
        let inner = "echo fd0=$(stat -L -c %d /proc/self/fd/0) pts=$(stat -c %d /dev/pts) tty=$(tty)"
        let script = try CLI.run("/usr/bin/script", ["-qec", "\(CLI.partctlPath) login \(name) -- sh -c '\(inner)'", "/dev/null"])
        #expect(script.status == 0, "\(script.stdout) \(script.stderr)")
        func value(_ key: String) -> String? {
            guard let range = script.stdout.range(of: key + "=") else { return nil }
            return String(script.stdout[range.upperBound...].prefix { !$0.isWhitespace })
        }
        let hostPts = try CLI.run("/usr/bin/stat", ["-c", "%d", "/dev/pts"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(value("tty")?.hasPrefix("/dev/pts/") == true, "not a terminal: \(script.stdout)")
        #expect(value("fd0") != nil && value("fd0") == value("pts"), "the terminal is not on the WPAR's devpts: \(script.stdout)")
        #expect(value("fd0") != hostPts, "the terminal is on the host's devpts (\(hostPts)): \(script.stdout)")
    }
}
