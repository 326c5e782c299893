import Foundation
import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine

/// Host paths that become mounts (issue 8, finding 1): opened on the host before the root moves,
/// never through a symlink, and only the object the host-path rules checked. Each test has the
/// shape of the exploit and asserts the host untouched.
@Suite(.serialized) struct HostPathEscapeTests {
    static func systemSpec(_ name: String, root: String, mounts: [WorkloadMount] = []) throws -> WorkloadSpec {
        var spec = try SystemWparTests.spec(name, root: .directory(path: root), command: SystemWparTests.quickInit)
        spec.mounts = mounts
        return spec
    }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    static func contents(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    /// A scratch directory outside /tmp (the stage directory), removed when it goes: host objects
    /// whose paths mean the same before and after the root is attached.
    final class Scratch {
        let path = "/var/tmp/ptest-paths-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        init() throws { try HostSystem.makeDirectories(path, mode: 0o755) }
        deinit { try? HostSystem.removeTree(path) }
    }

    /// The issue's repro: the child attached the new root on its stage directory /tmp and only then
    /// looked up a mount source under /tmp, inside the WPAR's root. A system WPAR plants a symlink
    /// to / where the source's path lands in its own root; once reactivated with that mount it must
    /// get the host directory the profile names, never the host's root.
    @Test func symlinkPlantedInTheRootDoesNotRedirectAMountSource() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let share = sandbox.base + "/share"
        try HostSystem.makeDirectories(share, mode: 0o755)
        try Self.write("the share\n", to: share + "/ptest-share-marker")
        let scratch = try Scratch()
        let victim = scratch.path + "/victim"  // a host file outside the stage directory
        try Self.write("host\n", to: victim)
        #expect(share.hasPrefix(SpawnPlan.stageDirectory + "/"))

        let name = try PartitionName("ptest-rtshare")
        try sandbox.engine.define(name, spec: Self.systemSpec("ptest-rtshare", root: root))
        try sandbox.engine.activate(name)
        // Where /tmp/ptest-…/share lands while the root sits on /tmp: /ptest-…/share inside.
        let planted = String(share.dropFirst(SpawnPlan.stageDirectory.count))
        let plant = try sandbox.exec("ptest-rtshare", ["/bin/sh", "-c", "mkdir -p \(planted.dropLast(6)) && ln -s / \(planted)"])
        #expect(plant.status == 0, "\(plant.output)")
        #expect(HostSystem.fileType(root + planted) == .symlink)
        try sandbox.engine.shutdown(name, within: 5)

        try sandbox.engine.define(name, spec: Self.systemSpec("ptest-rtshare", root: root,
            mounts: [WorkloadMount(source: share, target: "/mnt/share", readOnly: false)]), replacing: true)
        do {
            try sandbox.engine.activate(name)
        } catch {
            // Refused (fail closed) is acceptable; the host must be untouched either way.
            #expect(error.code == .permissionDenied, "\(error.message)")
        }
        if try sandbox.engine.status(name).state == .running {
            let attempt = try sandbox.exec("ptest-rtshare", ["/bin/sh", "-c",
                "echo pwned > /mnt/share\(victim) 2>/dev/null; [ -e /mnt/share/ptest-share-marker ] && ! [ -e /mnt/share/etc/passwd ]"])
            #expect(attempt.status == 0, "the mount is not the host directory the profile names: \(attempt.output)")
            try sandbox.engine.force(name)
        }
        #expect(Self.contents(victim) == "host\n")
        #expect(HostSystem.fileType(share + "/ptest-share-marker") == .regular)
    }

    /// A source checked as a directory, then swapped for a symlink to / before the child runs
    /// (the race of CVE-2021-30465 applied to a source): the child refuses it.
    @Test func sourceSwappedForASymlinkAfterTheCheckIsRefused() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let scratch = try Scratch()
        let share = scratch.path + "/data"
        try HostSystem.makeDirectories(share, mode: 0o755)
        let spec = try Self.systemSpec("ptest-swapsrc", root: root, mounts: [WorkloadMount(source: share, target: "/mnt/share")])
        let plan = try SpawnPlan(spec: spec, host: sandbox.engine.host)
        #expect(rename(share, share + ".moved") == 0)
        #expect(symlink("/", share) == 0)
        let message = Self.releaseFailure(plan)
        #expect(message.contains("bind /mnt/share") && message.contains("symlink"), "\(message)")
    }

    /// A source replaced by another directory after the check (renamed over): not the object the
    /// rules checked, so the child refuses it.
    @Test func sourceReplacedByAnotherDirectoryIsRefused() throws {
        let sandbox = try EngineSandbox()
        let scratch = try Scratch()
        let (plan, _) = try Self.planWithReplacedShare("ptest-replsrc", in: sandbox, scratch: scratch)
        let message = Self.releaseFailure(plan)
        #expect(message.contains("bind /mnt/share") && message.contains("it was replaced"), "\(message)")
    }

    /// The same for a user-namespaced WPAR, whose host trees the parent opens, idmaps and passes
    /// (PassedTreeOpener): a source replaced after the check is refused there too, before any mount.
    @Test func passedTreeReplacedByAnotherDirectoryIsRefused() throws {
        let sandbox = try EngineSandbox()
        let scratch = try Scratch()
        let (plan, share) = try Self.planWithReplacedShare("ptest-replpass", in: sandbox, scratch: scratch) { spec in
            spec.userNamespace = .shifted(by: 0x7ff0_0000)
        }
        #expect(plan.passedTrees.contains { $0.source == share && $0.identity != nil }, "the share is not passed pinned")
        let message = Self.releaseFailure(plan)
        #expect(message.contains(share) && message.contains("it was replaced"), "\(message)")
    }

    /// An overlay's lower layer swapped for a symlink after the check: refused too.
    @Test func overlayLayerSwappedForASymlinkIsRefused() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot("base")
        let name = try PartitionName("ptest-swaplower")
        let spec = try SystemWparTests.spec("ptest-swaplower", root: .overlay(lower: [base], upper: nil), command: SystemWparTests.quickInit)
        try sandbox.engine.define(name, spec: spec)
        try sandbox.engine.activate(name)  // makes the upper layer; the overlay works from opened layers
        #expect(try sandbox.exec("ptest-swaplower", ["/bin/sh", "-c", "touch /root/ptest-upper && [ -x /bin/busybox ]"]).status == 0)
        try sandbox.engine.shutdown(name, within: 5)
        let plan = try SpawnPlan(spec: spec, host: sandbox.engine.host)
        #expect(rename(base, base + ".moved") == 0)
        #expect(symlink(base + ".moved", base) == 0)
        let message = Self.releaseFailure(plan)
        #expect(message.contains("mount the overlay root") && message.contains("symlink"), "\(message)")
    }

    /// Host paths given through a symlink are refused with the real path to give instead.
    @Test func sourceThroughASymlinkIsRefusedWithTheRealPath() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        try HostSystem.makeDirectories(sandbox.base + "/real/data", mode: 0o755)
        #expect(symlink(sandbox.base + "/real", sandbox.base + "/link") == 0)
        let spec = try Self.systemSpec("ptest-linksrc", root: root, mounts: [WorkloadMount(source: sandbox.base + "/link/data", target: "/data")])
        #expect {
            _ = try SpawnPlan(spec: spec, host: sandbox.engine.host)
        } throws: { error in
            let message = (error as? PartitionError)?.message ?? ""
            return message.contains("goes through a symlink") && message.contains(sandbox.base + "/real/data")
        }
    }

    /// A kernel file system mounted outside /proc, /sys and /dev is still refused as a source.
    @Test func kernelFilesystemElsewhereIsRefused() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let point = sandbox.base + "/proc-elsewhere"
        try HostSystem.makeDirectories(point, mode: 0o755)
        guard mount("proc", point, "proc", UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC), nil) == 0 else {
            Issue.record("could not mount a procfs for the test: errno \(errno)")
            return
        }
        let spec = try Self.systemSpec("ptest-kernfs", root: root, mounts: [WorkloadMount(source: point + "/sys", target: "/data")])
        let message: String
        do {
            _ = try SpawnPlan(spec: spec, host: sandbox.engine.host)
            message = ""
        } catch {
            message = error.message
        }
        umount2(point, Int32(MNT_DETACH))  // before the sandbox (and its tree) goes
        withExtendedLifetime(sandbox) {}
        #expect(message.contains("procfs"), "\(message)")
    }

    /// Runs `plan` as a direct child and returns its setup failure's message ("" if it started).
    /// A system WPAR planned with a scratch directory mounted at /mnt/share, which is then replaced
    /// by another directory renamed over it: the plan and the share's path.
    static func planWithReplacedShare(_ name: String, in sandbox: EngineSandbox, scratch: Scratch,
                                      adjusting adjust: (inout WorkloadSpec) -> Void = { _ in }) throws -> (SpawnPlan, String) {
        let share = scratch.path + "/data"
        try HostSystem.makeDirectories(share, mode: 0o755)
        try HostSystem.makeDirectories(scratch.path + "/other", mode: 0o755)
        var spec = try systemSpec(name, root: try sandbox.busyboxRoot(), mounts: [WorkloadMount(source: share, target: "/mnt/share")])
        adjust(&spec)
        let plan = try SpawnPlan(spec: spec, host: sandbox.engine.host)
        #expect(rename(share, share + ".moved") == 0)
        #expect(rename(scratch.path + "/other", share) == 0)
        return (plan, share)
    }

    static func releaseFailure(_ plan: SpawnPlan) -> String {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        do {
            let pending = try PendingProcess.start(plan, cgroupFD: -1, stdio: .all(null, terminal: false), deathSignal: SIGKILL)
            try pending.release(passing: plan.passedTrees)
            kill(pending.pid, SIGKILL)
            _ = ProcessWait.exitCode(of: pending.pid)
            return ""
        } catch {
            return error.message
        }
    }
}
