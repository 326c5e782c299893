import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import WorkloadEngine

/// The host side of a WPAR's state: who can reach its writable layer, removal of whatever tree a
/// WPAR built, and what a dead supervisor leaves for the stop verbs (issue 8, findings 2 and 6).
@Suite(.serialized) struct StateHardeningTests {
    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        return lstat(path, &status) == 0 ? status.st_mode & 0o7777 : nil
    }

    /// Runs `script` with /bin/sh as the unprivileged host user nobody (65534, no groups); returns
    /// its status and output.
    static func asNobody(_ script: String) throws -> (status: Int32, output: String) {
        let result = try TestProcess.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "/bin/sh", "-c", script],
                                         directory: "/", timeout: 60)
        return (result.status, result.stdout + result.stderr)
    }

    /// Moby CVE-2021-41091: a system WPAR (root inside, no user namespace) writes a setuid-root copy
    /// of a host binary into its root. Its writable layer is on the host; no host user may reach
    /// it, let alone run it as root. Directories an older version left open are tightened by the
    /// next command, and new ones get their modes whatever the umask.
    @Test func setuidFileWrittenInAWparIsOutOfReachOfHostUsers() throws {
        let oldMask = umask(0)
        let sandbox: EngineSandbox
        do { defer { umask(oldMask) }; sandbox = try EngineSandbox() }
        let base = try sandbox.busyboxRoot("base")
        chmod(sandbox.base, 0o755)  // the sandbox itself stands for /var/lib: anyone may pass
        let name = try PartitionName("ptest-suid")
        try sandbox.engine.define(name, spec: SystemWparTests.spec("ptest-suid", root: .overlay(lower: [base], upper: nil),
                                                                    command: SystemWparTests.quickInit))
        let definitions = sandbox.paths.definitions
        let wpars = definitions + "/wpars"
        #expect(Self.mode(definitions) == 0o711)
        #expect(Self.mode(wpars) == 0o711)
        #expect(Self.mode(wpars + "/ptest-suid") == 0o700)
        #expect(Self.mode(sandbox.paths.root) == 0o700)

        try sandbox.engine.activate(name)
        defer { try? sandbox.engine.remove(name, force: true) }
        let plant = try sandbox.exec("ptest-suid", ["/bin/sh", "-c", "cp /usr/bin/id /root/ptest-id && chmod 4755 /root/ptest-id"])
        try #require(plant.status == 0, "\(plant.output)")
        let planted = SpawnPlan.defaultUpper(for: name, definitionsRoot: definitions) + "/root/ptest-id"
        // The exploit's precondition holds: the file is setuid root on the host.
        try #require(Self.mode(planted) == 0o4755, "the WPAR could not plant its setuid file")

        let attempt = "\(planted) -u; echo status=$?; ls \(planted) 2>&1"
        let whileRunning = try Self.asNobody(attempt)
        #expect(!whileRunning.output.hasPrefix("0\n"), "a host user ran the WPAR's setuid file as root: \(whileRunning.output)")
        #expect(whileRunning.output.contains("Permission denied"), "\(whileRunning.output)")

        // An installation made by an older version: everything world-readable.
        for path in [definitions, wpars, wpars + "/ptest-suid", sandbox.paths.root, sandbox.paths.locks] { chmod(path, 0o755) }
        #expect(try Self.asNobody("\(planted) -u").output == "0\n", "the test's open installation is not exploitable")
        try sandbox.engine.shutdown(name, within: 5)
        #expect(Self.mode(definitions) == 0o711)
        #expect(Self.mode(wpars) == 0o711)
        #expect(Self.mode(wpars + "/ptest-suid") == 0o700)
        #expect(Self.mode(sandbox.paths.root) == 0o700)
        #expect(Self.mode(sandbox.paths.locks) == 0o700)
        let afterRepair = try Self.asNobody(attempt)
        #expect(afterRepair.output.contains("Permission denied") && !afterRepair.output.hasPrefix("0\n"), "\(afterRepair.output)")
        try sandbox.engine.remove(name)
        #expect(HostSystem.fileType(wpars + "/ptest-suid") == nil)
    }

    /// A tree far deeper than PATH_MAX, with a symlink to a host directory at the bottom and a
    /// directory of mode 000 on the way: it goes, and nothing outside it is touched.
    @Test func treeRemovalHandlesAnyDepthAndNeverFollowsSymlinks() throws {
        let sandbox = try EngineSandbox()
        let outside = sandbox.base + "/outside"
        try HostSystem.makeDirectories(outside, mode: 0o755)
        _ = FileManager.default.createFile(atPath: outside + "/keep", contents: Data("kept".utf8))
        let top = sandbox.base + "/deep"
        try HostSystem.makeDirectories(top, mode: 0o755)
        var fd = open(top, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        for level in 0..<1200 {
            #expect(mkdirat(fd, "d-twelve-characters", level == 600 ? 0 : 0o755) == 0)
            let next = openat(fd, "d-twelve-characters", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            close(fd)
            fd = next
            let file = openat(fd, "file", O_WRONLY | O_CREAT | O_CLOEXEC, 0o644)
            close(file)
        }
        #expect(symlinkat(outside, fd, "escape") == 0)
        #expect(symlinkat("..", fd, "up") == 0)
        close(fd)
        try HostSystem.removeTree(top)
        #expect(HostSystem.fileType(top) == nil)
        #expect(HostSystem.fileType(outside + "/keep") == .regular)
    }

    /// The same through a WPAR: its overlay layer holds an 800-level tree, and `remove` still works.
    @Test func removeSucceedsAfterAWparBuiltADeepTree() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot("base")
        let name = try PartitionName("ptest-deep")
        try sandbox.engine.define(name, spec: SystemWparTests.spec("ptest-deep", root: .overlay(lower: [base], upper: nil),
                                                                    command: SystemWparTests.quickInit))
        try sandbox.engine.activate(name)
        defer { try? sandbox.engine.remove(name, force: true) }
        let build = try sandbox.exec("ptest-deep", ["/bin/sh", "-c",
            // Each round moves the whole tree one level down, so no path the shell uses grows.
            "cd /root && mkdir level-name && ln -s / level-name/host && i=0; while [ $i -lt 800 ]; do "
                + "mkdir new && mv level-name new/level-name && mv new level-name || exit 1; i=$((i+1)); done"])
        try #require(build.status == 0, "\(build.output)")
        try sandbox.engine.shutdown(name, within: 5)
        let upper = SpawnPlan.defaultUpper(for: name, definitionsRoot: sandbox.paths.definitions)
        #expect(HostSystem.fileType(upper + "/root/level-name/level-name") == .directory)
        try sandbox.engine.remove(name)
        #expect(HostSystem.fileType(sandbox.paths.definitions + "/wpars/ptest-deep") == nil)
        #expect(HostSystem.fileType(base + "/bin/busybox") == .regular)
    }

    /// `kill -9` of a WPAR's supervisor: `force` (and `shutdown`) clean up as `remove` does and
    /// report the WPAR stopped.
    @Test func forceAfterTheSupervisorWasKilledCleansUp() throws {
        let sandbox = try EngineSandbox()
        for (label, stop) in [("force", { (engine: WorkloadEngine, name: PartitionName) throws in try engine.force(name) }),
                              ("shutdown", { (engine: WorkloadEngine, name: PartitionName) throws in try engine.shutdown(name, within: 5) })] {
            let name = try RuntimeStateTests.define("ptest-k9-\(label)", in: sandbox)
            defer { try? sandbox.engine.remove(name, force: true) }
            try sandbox.engine.activate(name)
            let supervisor = try #require(try sandbox.engine.status(name).supervisorPID)
            #expect(kill(supervisor, SIGKILL) == 0)
            #expect(waitUntil(timeout: 10) { !EngineSandbox.isRunning(supervisor) }, "the killed supervisor did not end")
            #expect(try sandbox.engine.status(name).state == .error)
            try stop(sandbox.engine, name)
            #expect(try sandbox.engine.status(name).state == .defined, "\(label)")
            let left = Leftovers.of(name.rawValue, in: sandbox)
            #expect(left.isEmpty, "\(label): \(left)")
            #expect(throws: PartitionError.self, "\(label) of a stopped WPAR is refused") { try stop(sandbox.engine, name) }
        }
    }

    /// Refused input creates nothing: not the state directories, not a lock file. A removed WPAR
    /// leaves no lock file either.
    @Test func refusedDefinitionCreatesNothing() throws {
        let sandbox = try EngineSandbox()
        let empty = sandbox.base + "/empty-root"
        try HostSystem.makeDirectories(empty + "/bin", mode: 0o755)
        try HostSystem.removeTree(sandbox.paths.definitions)
        try HostSystem.removeTree(sandbox.paths.locks)
        let name = try PartitionName("ptest-refused")
        #expect(throws: PartitionError.self) {
            try sandbox.engine.define(name, spec: SystemWparTests.spec("ptest-refused", root: .directory(path: empty)))
        }
        #expect(HostSystem.fileType(sandbox.paths.definitions) == nil)
        #expect(HostSystem.fileType(sandbox.paths.lockFile(for: name)) == nil)
        #expect(throws: PartitionError.self) { try sandbox.engine.force(name) }
        #expect(HostSystem.fileType(sandbox.paths.lockFile(for: name)) == nil)

        let kept = try RuntimeStateTests.define("ptest-kept", in: sandbox)
        #expect(HostSystem.fileType(sandbox.paths.lockFile(for: kept)) == .regular)
        try sandbox.engine.remove(kept)
        #expect(HostSystem.fileType(sandbox.paths.lockFile(for: kept)) == nil)
    }
}

/// `disk: {max}`: a system WPAR's writable layer on an ext4 image of its own (WritableLayerImage).
@Suite(.serialized) struct WritableLayerLimitTests {
    /// Loop devices whose backing file is `image` (deleted or not).
    static func loopDevices(backing image: String) -> [String] {
        let devices = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []
        return devices.filter { device in
            guard device.hasPrefix("loop"),
                  let backing = SystemCall.readText("/sys/block/\(device)/loop/backing_file") else { return false }
            return backing.hasPrefix(image)
        }
    }

    static func mounts(at path: String) -> [String] {
        (SystemCall.readText("/proc/self/mountinfo", limit: 1 << 22) ?? "").split(separator: "\n")
            .filter { $0.split(separator: " ").dropFirst(4).first.map(String.init) == path }.map(String.init)
    }

    @Test func writingBeyondTheLimitFailsAndRemoveLeavesNothing() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot("base")
        let name = try PartitionName("ptest-disk")
        var spec = try SystemWparTests.spec("ptest-disk", root: .overlay(lower: [base], upper: nil), command: SystemWparTests.quickInit)
        spec.diskLimit = 16 << 20
        try sandbox.engine.define(name, spec: spec)
        defer { try? sandbox.engine.remove(name, force: true) }
        try sandbox.engine.activate(name)
        let directory = sandbox.paths.definitions + "/wpars/ptest-disk"
        let image = directory + "/layer.img"
        #expect(Self.loopDevices(backing: image).count == 1)
        let mount = try #require(Self.mounts(at: directory + "/layer").first)
        #expect(mount.contains("nosuid") && mount.contains("nodev"), "\(mount)")

        let fill = try sandbox.exec("ptest-disk", ["/bin/sh", "-c",
            "dd if=/dev/zero of=/root/big bs=1M count=64 2>&1; echo status=$?; ls -l /root/big"])
        #expect(fill.output.contains("No space left on device"), "\(fill.output)")
        #expect(!fill.output.contains("status=0"), "\(fill.output)")
        var status = stat()
        #expect(stat(image, &status) == 0 && Int64(status.st_blocks) * 512 <= 17 << 20,
                "the image took \(Int64(status.st_blocks) * 512) bytes of the host's disk")
        // The WPAR goes on: freeing space works.
        #expect(try sandbox.exec("ptest-disk", ["/bin/sh", "-c", "rm /root/big && echo ok > /root/small"]).status == 0)

        try sandbox.engine.shutdown(name, within: 5)
        #expect(Self.mounts(at: directory + "/layer").isEmpty)
        // The layer survives a restart.
        try sandbox.engine.activate(name)
        #expect(try sandbox.exec("ptest-disk", ["/bin/sh", "-c", "cat /root/small"]).output == "ok\n")
        // An init that ends by itself: its supervisor unmounts the layer.
        _ = try sandbox.exec("ptest-disk", ["/bin/sh", "-c", "kill -TERM 1"])
        try waitUntil(timeout: 5, interval: 0.05) { try sandbox.engine.status(name).state == .defined }
        #expect(try sandbox.engine.status(name).state == .defined)
        #expect(Self.mounts(at: directory + "/layer").isEmpty, "the layer is still mounted after its init ended")
        try sandbox.engine.remove(name, force: true)
        #expect(HostSystem.fileType(directory) == nil)
        waitUntil(timeout: 5, interval: 0.05) { Self.loopDevices(backing: image).isEmpty }
        #expect(Self.loopDevices(backing: image).isEmpty, "loop devices left: \(Self.loopDevices(backing: image))")
        #expect(Self.mounts(at: directory + "/layer").isEmpty)
    }

    @Test func aLimitNeedsAnOverlayLayer() throws {
        let sandbox = try EngineSandbox()
        var spec = try sandbox.application("ptest-disk-app", "true")
        spec.diskLimit = 64 << 20
        #expect(throws: PartitionError.self) { try sandbox.engine.define(spec.name, spec: spec) }
        var small = try SystemWparTests.spec("ptest-disk-small", root: .overlay(lower: ["/nonexistent"], upper: nil))
        small.diskLimit = 1 << 20
        #expect(throws: PartitionError.self) { try sandbox.engine.define(small.name, spec: small) }
    }
}
