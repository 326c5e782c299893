import Foundation
import PartctlTestSupport
import PartitionImages
import Testing

/// A build killed with SIGKILL in the middle of mmdebstrap leaves nothing running, mounted or
/// attached, and the next `image` command sweeps its files; a damaged cached tar is not trusted.
@Suite(.serialized) struct DebianImageKillTests {
    @Test func damagedTarIsBuiltAgainAndAKilledBuildLeavesNothing() throws {
        _ = try SharedDebianImage.ensure()
        let root = "/var/tmp/ptest-debian-kill-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = root + "/cache/images/debian-12"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        // The shared cache's key (same inputs) with a damaged tar: its first MiB only.
        let shared = SharedDebianImage.stateRoot + "/cache/images/debian-12"
        try FileManager.default.copyItem(atPath: shared + "/packages.key", toPath: cache + "/packages.key")
        let whole = try FileHandle(forReadingFrom: URL(fileURLWithPath: shared + "/packages.tar"))
        try whole.read(upToCount: 1 << 20)!.write(to: URL(fileURLWithPath: cache + "/packages.tar"))
        try whole.close()

        var environment = SharedDebianImage.environment
        environment["PARTCTL_ROOT"] = root
        let build = try BackgroundProcess(BuiltProducts.partctl, ["image", "build", "debian-12"], environment: environment)
        let log = cache + "/build.log"
        let text = { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
        // Killed in the middle: dpkg has installed itself into mmdebstrap's chroot (which has /proc,
        // /sys and /dev mounted from then on), packages are being installed.
        let working = waitUntil(timeout: 600, interval: 0.5) {
            guard build.isRunning else { return true }
            guard text().contains("step: packages: mmdebstrap") else { return false }
            let found = FileManager.default.enumerator(atPath: root + "/store/.staging")
            while let path = found?.nextObject() as? String {
                if path.contains("/tmp/mmdebstrap.") && path.hasSuffix("/var/lib/dpkg/info/dpkg.list") { return true }
            }
            return false
        }
        try #require(working && build.isRunning, "the build did not reach mmdebstrap: \(build.stderr) \(text().suffix(1000))")
        #expect(text().contains("is damaged; building it again"), "the damaged tar was not noticed: \(text().prefix(1000))")

        kill(build.pid, SIGKILL)
        let ended = build.finish(within: 10)
        #expect(ended.status != 0)
        // Every process of the build (mmdebstrap, apt, dpkg, maintainer scripts) goes with partctl, at
        // once: the kernel ends the build's PID namespace, nobody waits for its next write to a dead pipe.
        let gone = waitUntil(timeout: 5, interval: 0.1) { Self.processes(mentioning: root).isEmpty }
        #expect(gone, "still running after the kill: \(Self.processes(mentioning: root))")
        // mmdebstrap's mounts were in a mount namespace of the build's own; no loop device was used.
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!mounts.contains(root), "a mount of the build is left: \(mounts)")
        let loops = try TestProcess.run("/usr/sbin/losetup", ["--list", "--noheadings", "--output", "BACK-FILE"])
        #expect(!loops.stdout.contains(root), "a loop device of the build is left: \(loops.stdout)")
        // The next image command removes the killed build's staging directory; the cache keeps no tar.
        let list = try TestProcess.run(BuiltProducts.partctl, ["image", "list"], environment: environment)
        #expect(list.status == 0, "\(list)")
        let staging = (try? FileManager.default.contentsOfDirectory(atPath: root + "/store/.staging")) ?? []
        #expect(staging.isEmpty, "left in the staging area: \(staging)")
        #expect(!FileManager.default.fileExists(atPath: cache + "/packages.tar") && !FileManager.default.fileExists(atPath: cache + "/packages.key"))
        #expect(!list.stdout.contains("debian-12"), "\(list.stdout)")
    }

    /// Killed while mkfs.ext4 fills the root file system, a step that writes nothing for seconds:
    /// without the build's PID namespace mkfs would go on writing into a directory being swept.
    @Test func killedDuringTheDiskStepLeavesNothing() throws {
        _ = try SharedDebianImage.ensure()
        let root = "/var/tmp/ptest-debian-kill-disk-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = root + "/cache/images/debian-12"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let shared = SharedDebianImage.stateRoot + "/cache/images/debian-12"
        for file in ["packages.key", "packages.tar"] {
            try FileManager.default.copyItem(atPath: shared + "/" + file, toPath: cache + "/" + file)
        }
        var environment = SharedDebianImage.environment
        environment["PARTCTL_ROOT"] = root
        let build = try BackgroundProcess(BuiltProducts.partctl, ["image", "build", "debian-12"], environment: environment)
        let text = { (try? String(contentsOfFile: cache + "/build.log", encoding: .utf8)) ?? "" }
        let reached = waitUntil(timeout: 300, interval: 0.1) {
            !build.isRunning || (text().contains("step: disk: ext4") && !Self.processes(mentioning: "mkfs.ext4").filter { $0.contains(root) }.isEmpty)
        }
        try #require(reached && build.isRunning, "the build did not reach mkfs: \(build.stderr) \(text().suffix(1000))")
        #expect(text().contains("packages: cached"), "the cached tar was not used: \(text().prefix(600))")
        kill(build.pid, SIGKILL)
        _ = build.finish(within: 10)
        let gone = waitUntil(timeout: 5, interval: 0.1) { Self.processes(mentioning: root).isEmpty }
        #expect(gone, "still running after the kill: \(Self.processes(mentioning: root))")
        let list = try TestProcess.run(BuiltProducts.partctl, ["image", "list"], environment: environment)
        #expect(list.status == 0, "\(list)")
        let staging = (try? FileManager.default.contentsOfDirectory(atPath: root + "/store/.staging")) ?? []
        #expect(staging.isEmpty, "left in the staging area: \(staging)")
    }

    /// PIDs and command lines of the processes whose command line names `text`.
    static func processes(mentioning text: String) -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.filter { Int($0) != nil }.compactMap { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"), !data.isEmpty else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
            return line.contains(text) ? "\(pid): \(line.prefix(200))" : nil
        }
    }
}
