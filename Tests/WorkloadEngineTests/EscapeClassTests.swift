import Foundation
import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine

/// The published container escapes that concern mounts, the root and the runtime's own process,
/// each as a test with the exploit's shape (issue 8). A planted redirection always points at a
/// host file the test owns, never at a kernel knob, so a regression shows as a changed test file.
@Suite(.serialized) struct EscapeClassTests {
    typealias Scratch = HostPathEscapeTests.Scratch

    static func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// A running system WPAR on a busybox root prepared by `plant`, under quickInit.
    static func running(_ sandbox: EngineSandbox, _ name: String, console: Bool = false, mounts: [WorkloadMount] = [],
                        plant: (String) throws -> Void = { _ in }) throws -> PartitionName {
        let root = try sandbox.busyboxRoot()
        try plant(root)
        var spec = try SystemWparTests.spec(name, root: .directory(path: root), command: SystemWparTests.quickInit, console: console)
        spec.mounts = mounts
        let partition = try PartitionName(name)
        try sandbox.engine.define(partition, spec: spec)
        try sandbox.engine.activate(partition)
        return partition
    }

    static func expectInside(_ sandbox: EngineSandbox, _ name: String, _ label: String, _ script: String,
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try sandbox.exec(name, ["/bin/sh", "-c", script])
        #expect(result.status == 0, "\(label): \(result.output)", sourceLocation: sourceLocation)
    }

    // MARK: CVE-2025-31133: /dev/null deleted or a symlink in the rootfs

    enum DevNullPlant: String, CaseIterable, Sendable { case deleted, symlinkToHostFile, fifo }

    /// runc bound the root's own /dev/null over masked paths; a symlink there turned the masks into
    /// writable binds of its target. partctl masks with the host's /dev/null, opened and checked
    /// (1:3) before the root is attached, and gives the WPAR a fresh /dev.
    @Test(arguments: DevNullPlant.allCases)
    func devNullPlantedInTheRootIsNeverUsed(_ plant: DevNullPlant) throws {
        let sandbox = try EngineSandbox()
        let scratch = try Scratch()
        let victim = scratch.path + "/victim"
        try "host\n".write(toFile: victim, atomically: false, encoding: .utf8)
        var root = ""
        _ = try Self.running(sandbox, "ptest-devnull") { path in
            root = path
            switch plant {
            case .deleted: break  // the busybox root has an empty /dev
            case .symlinkToHostFile: #expect(symlink(victim, path + "/dev/null") == 0)
            case .fifo: #expect(mkfifo(path + "/dev/null", 0o666) == 0)
            }
        }
        try Self.expectInside(sandbox, "ptest-devnull", "masks are the host's /dev/null and writes vanish",
            "for f in /proc/kcore /proc/keys /proc/timer_list; do [ ! -e $f ] || { [ \"$(stat -c %t:%T $f)\" = 1:3 ] && echo pwned > $f; } || exit 1; done"
            + " && [ -c /dev/null ] && [ \"$(stat -c %t:%T /dev/null)\" = 1:3 ] && echo pwned > /dev/null")
        #expect(Self.contents(victim) == "host\n")
        if plant == .symlinkToHostFile { #expect(HostSystem.fileType(root + "/dev/null") == .symlink) }
    }

    // MARK: CVE-2025-52565: /dev/console bind target a symlink

    /// runc bound the console's pty over /dev/console before checking it, following a symlink
    /// planted there. partctl binds /dev/console (only with `console: true`) on the fresh /dev
    /// tmpfs, its target opened without following symlinks; without a console there is none.
    @Test(arguments: [true, false])
    func devConsolePlantedAsASymlinkRedirectsNothing(_ console: Bool) throws {
        let sandbox = try EngineSandbox()
        let scratch = try Scratch()
        let victim = scratch.path + "/victim"
        try "host\n".write(toFile: victim, atomically: false, encoding: .utf8)
        var root = ""
        _ = try Self.running(sandbox, "ptest-console", console: console) { path in
            root = path
            #expect(symlink(victim, path + "/dev/console") == 0)
        }
        try Self.expectInside(sandbox, "ptest-console", "/dev/console is the WPAR's pty or absent",
            console ? "[ -c /dev/console ] && ! [ -L /dev/console ] && echo pwned > /dev/console" : "! [ -e /dev/console ] && ! [ -L /dev/console ]")
        #expect(Self.contents(victim) == "host\n")
        #expect(HostSystem.fileType(root + "/dev/console") == .symlink)
    }

    // MARK: crun: /dev symlinks followed when /dev is not its own mount

    /// crun created and opened /dev entries in the root's own /dev (no tmpfs) without O_NOFOLLOW.
    /// partctl always mounts a fresh tmpfs on /dev (a /dev that is a symlink is refused, see
    /// SpawnPlanValidationTests), so whatever the root's /dev holds is covered, never followed.
    @Test func devSymlinksInTheRootRedirectNothing() throws {
        let sandbox = try EngineSandbox()
        let scratch = try Scratch()
        let victim = scratch.path + "/victim"
        try "host\n".write(toFile: victim, atomically: false, encoding: .utf8)
        let outside = scratch.path + "/outside"
        try HostSystem.makeDirectories(outside, mode: 0o755)
        _ = try Self.running(sandbox, "ptest-devlinks") { root in
            for name in ["null", "zero", "full", "random", "urandom", "tty", "ptmx", "console", "stdout"] {
                #expect(symlink(victim, root + "/dev/" + name) == 0)
            }
            for name in ["pts", "shm", "mqueue"] { #expect(symlink(outside, root + "/dev/" + name) == 0) }
        }
        try Self.expectInside(sandbox, "ptest-devlinks", "the WPAR's /dev is fresh and minimal",
            "[ \"$(ls /dev | tr '\\n' ' ')\" = 'fd full null ptmx pts random shm stderr stdin stdout tty urandom zero ' ]"
            + " && for d in null zero full random urandom tty; do [ -c /dev/$d ] && ! [ -L /dev/$d ] || exit 1; done"
            + " && [ \"$(readlink /dev/ptmx)\" = pts/ptmx ] && grep -q ' /dev/pts devpts ' /proc/mounts && grep -q ' /dev/shm tmpfs ' /proc/mounts"
            + " && echo pwned > /dev/null && echo pwned > /dev/shm/ptest && echo pwned > /dev/full; true")
        #expect(Self.contents(victim) == "host\n")
        #expect((try? FileManager.default.contentsOfDirectory(atPath: outside)) == [])
    }

    // MARK: CVE-2024-21626: leaked descriptors, working directory outside the root

    /// runc leaked a descriptor of the host's /sys/fs/cgroup into the container, and a working
    /// directory of /proc/self/fd/N then put the process's cwd on the host. Here the caller holds
    /// a host directory open without close-on-exec while it logs in and runs.
    @Test func leakedDescriptorAndWorkingDirectoryStayOnTheHost() throws {
        let sandbox = try EngineSandbox()
        let scratch = try Scratch()
        let leaked = open(scratch.path, O_RDONLY | O_DIRECTORY)  // inheritable on purpose
        #expect(leaked > 2)
        defer { close(leaked) }
        _ = try Self.running(sandbox, "ptest-leak")
        let listing = "ls /proc/self/fd | tr '\\n' ' '"
        let inside = try sandbox.exec("ptest-leak", ["/bin/sh", "-c", "echo $(\(listing)) $(readlink /proc/self/cwd)"])
        #expect(inside.output == "0 1 2 3 /\n", "\(inside.output)")
        #expect(try sandbox.exec("ptest-leak", ["/bin/sh", "-c", "! cd /proc/1/fd/\(leaked) 2>/dev/null && ! ls /proc/*/fd/\(leaked) 2>/dev/null | grep -q ."]).status == 0)
        // The exploit's working directory: refused before anything runs.
        #expect {
            _ = try sandbox.engine.exec(try PartitionName("ptest-leak"),
                                        WorkloadCommand(arguments: ["/bin/touch", "/root/ptest-ran"], workingDirectory: "/proc/self/fd/\(leaked)"))
        } throws: { ($0 as? PartitionError)?.message.contains("/proc") == true }
        let run = try sandbox.run(try sandbox.application("ptest-leakrun", "echo $(\(listing)) $(readlink /proc/self/cwd)"))
        #expect(run.output == "0 1 2 3 /\n", "\(run.output)")
    }

    // MARK: CVE-2019-5736: the runtime's binary through /proc/PID/exe while a command joins

    /// runc's process joining a container was, until it exec'd, reachable from inside through
    /// /proc/PID/exe (the runc binary, which the container then overwrote). An attacker loop in
    /// the WPAR watches every process that is not busybox and tries to read its exe, while logins
    /// run whose PATH search keeps the joining process in that state for many milliseconds. Any exe
    /// seen from inside that is not the WPAR's own busybox is the runtime's binary.
    @Test func joiningProcessIsNotReachableThroughProcExe() throws {
        let sandbox = try EngineSandbox()
        var root = ""
        _ = try Self.running(sandbox, "ptest-exe") { root = $0 }
        let attacker = """
            while [ ! -e /tmp/stop ]; do for p in /proc/[0-9]*; do
              read c < $p/comm 2>/dev/null || continue
              case "$c" in sh|sleep|init|busybox|cat|true|ls|readlink|touch) continue;; esac
              echo "$p $c" >> /tmp/seen
              e=$(readlink $p/exe 2>/dev/null)
              case "$e" in ""|/bin/busybox) ;; *) echo "$p $c $e" >> /tmp/opened;; esac
            done; done
            """
        #expect(try sandbox.exec("ptest-exe", ["/bin/sh", "-c", "(\(attacker)) </dev/null >/dev/null 2>&1 &"]).status == 0)
        // 20000 missing directories before /bin: execve fails that often before the command runs.
        let path = String(repeating: "/x:", count: 20_000) + "/bin"
        for _ in 0..<15 {
            let partition = try PartitionName("ptest-exe")
            let status = try EngineSandbox.capturing { output in
                try sandbox.engine.exec(partition, WorkloadCommand(arguments: ["true"], environment: ["PATH=" + path]),
                                        input: output.null, output: output.write, error: output.write)
            }
            #expect(status.status == 0, "\(status.output)")
        }
        #expect(try sandbox.exec("ptest-exe", ["/bin/touch", "/tmp/stop"]).status == 0)
        let seen = Self.contents(root + "/tmp/seen") ?? ""
        let opened = Self.contents(root + "/tmp/opened") ?? ""
        #expect(opened.isEmpty, "reached through /proc/PID/exe: \(opened)")
        // The attacker did watch joining processes in the window (else the test proves nothing).
        #expect(!seen.isEmpty, "the attacker never saw a joining process")
    }

    // MARK: CVE-2025-52881: a second WPAR racing symlinks under a shared mount

    /// runc's writes meant for procfs were redirected by a second container racing symlinks and
    /// mounts in a directory both shared. Here WPAR B holds a writable mount of a host directory and
    /// swaps an entry in it between a directory and a symlink to / without pause, while WPAR A,
    /// whose profile mounts that entry, is activated again and again: each activation must either
    /// be refused or give A that directory, never the host's root.
    /// Without the child's own check about one activation in sixteen got the host's root.
    static let raceAttempts = 60
    static let raceAttemptsAtMost = 400

    @Test func secondWparRacingSymlinksUnderASharedMount() throws {
        let sandbox = try EngineSandbox()
        let scratch = try Scratch()
        let shared = scratch.path + "/shared"
        try HostSystem.makeDirectories(shared + "/sub", mode: 0o755)
        let victim = scratch.path + "/victim"
        try "host\n".write(toFile: victim, atomically: false, encoding: .utf8)

        let rootA = try sandbox.busyboxRoot("root-a")
        var specA = try SystemWparTests.spec("ptest-race-a", root: .directory(path: rootA), command: SystemWparTests.quickInit)
        specA.mounts = [WorkloadMount(source: shared + "/sub", target: "/mnt/sub", readOnly: false)]
        let a = try PartitionName("ptest-race-a")
        try sandbox.engine.define(a, spec: specA)

        _ = try Self.running(sandbox, "ptest-race-b", mounts: [WorkloadMount(source: shared, target: "/shared", readOnly: false)])
        let racer = "cd /shared && mkdir -p d && ln -sfn / l && while [ ! -e /tmp/stop ]; do mv -T sub d; mv -T l sub; mv -T sub l; mv -T d sub; done"
        #expect(try sandbox.exec("ptest-race-b", ["/bin/sh", "-c", "(\(racer)) </dev/null >/dev/null 2>&1 &"]).status == 0)
        defer { _ = try? sandbox.exec("ptest-race-b", ["/bin/touch", "/tmp/stop"]) }

        var started = 0
        var refused = 0
        var refusedByTheChild = 0
        // At least raceAttempts activations, and more (up to raceAttemptsAtMost) until one met the
        // racer in the child: on a loaded machine the racer may be slow to get there.
        var attempts = 0
        while attempts < Self.raceAttempts || (refusedByTheChild == 0 && attempts < Self.raceAttemptsAtMost) {
            attempts += 1
            do {
                try sandbox.engine.activate(a)
            } catch {
                // Refused by the rules (a symlink, the host's root, missing) or by the child (ELOOP,
                // ESTALE, ENOENT): fail closed, whichever moment the racer hit.
                #expect(error.code != .invalidState, "\(error.message)")
                refused += 1
                if error.message.contains("setup failed") { refusedByTheChild += 1 }
                continue
            }
            started += 1
            let inside = try sandbox.exec("ptest-race-a", ["/bin/sh", "-c",
                "echo pwned > /mnt/sub\(victim) 2>/dev/null; ! [ -e /mnt/sub/etc/passwd ] && ! [ -e /mnt/sub/proc/1 ]"])
            #expect(inside.status == 0, "WPAR A got the host's root through the raced mount")
            try sandbox.engine.force(a)
        }
        #expect(Self.contents(victim) == "host\n")
        #expect(started + refused == attempts)
        // Some activations got past the host-side check and met the racer in the child.
        #expect(refusedByTheChild > 0, "the race never reached the child (\(started) started, \(refused) refused)")
    }

    /// The check behind it: a mask or read-only path under /proc must be on the procfs the plan
    /// mounted. A plan that masks /proc/kcore without mounting procfs (so /proc/kcore is a file
    /// of the root itself) is refused by the child instead of masking some other file system.
    @Test func maskUnderProcThatIsNotProcfsIsRefused() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        try "not procfs\n".write(toFile: root + "/proc/kcore", atomically: false, encoding: .utf8)
        let spec = try SystemWparTests.spec("ptest-notproc", root: .directory(path: root), command: SystemWparTests.quickInit)
        var plan = try SpawnPlan(spec: spec, host: sandbox.engine.host)
        plan.steps.removeAll { $0.name == "mount /proc" }
        let message = HostPathEscapeTests.releaseFailure(plan)
        #expect(message.contains("mask /proc/kcore") && message.contains("procfs"), "\(message)")
    }
}
