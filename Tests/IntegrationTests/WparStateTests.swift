import Foundation
import Testing

/// A host WPAR's state through the command line (issue 8, finding 6): the stop verbs after its
/// supervisor was killed, and lock files that refused input and removed partitions leave behind.
@Suite(.serialized) struct WparStateTests {
    static let runtimeRoot = ProcessInfo.processInfo.environment["PARTCTL_RUNTIME_ROOT"] ?? "/run/partctl"
    static let stateRoot = ProcessInfo.processInfo.environment["PARTCTL_ROOT"] ?? "/var/lib/partctl"

    static func exists(_ path: String) -> Bool { FileManager.default.fileExists(atPath: path) }

    /// The PID of the supervisor of host WPAR `name`, from /proc.
    static func supervisor(of name: String) -> pid_t? {
        let pids = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { pid_t($0) }
        return pids.first { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.count > 2 && arguments[0].hasSuffix("partctl-supervisor") && arguments[1] == name
        }
    }

    static func cgroups(of name: String) -> [String] {
        let hierarchies = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        return (hierarchies.map { "/sys/fs/cgroup/\($0)/partctl/\(name)" } + ["/sys/fs/cgroup/partctl/\(name)"]).filter(exists)
    }

    /// `kill -9` of the supervisor: `force` and `shutdown` clean up as `remove` does (its cgroups and
    /// runtime state go) and report the WPAR stopped, instead of "not running" with everything left.
    @Test func stopVerbsCleanUpAfterTheSupervisorWasKilled() throws {
        for verb in ["force", "shutdown"] {
            let name = "ptest-k9-\(verb)"
            HostWparTests.cleanup(name)
            defer { HostWparTests.cleanup(name) }
            try #require(CLI.partctl("define", name, "--profile", "wpar-system").status == 0)
            let activate = try CLI.partctl("activate", name)
            try #require(activate.status == 0, "\(activate.stderr)")
            let pid = try #require(Self.supervisor(of: name))
            #expect(kill(pid, SIGKILL) == 0)
            #expect(CLI.waitFor(5) { !Self.exists("/proc/\(pid)") || Self.supervisor(of: name) == nil })
            #expect(try CLI.partctl("query", name, "-F", "state").stdout == "error\n")
            #expect(!Self.cgroups(of: name).isEmpty, "the test's premise: cgroups are left")

            let stop = try CLI.partctl(verb, name)
            #expect(stop.status == 0, "\(verb): \(stop.stderr)")
            #expect(try CLI.partctl("query", name, "-F", "state").stdout == "defined\n")
            #expect(Self.cgroups(of: name).isEmpty, "\(verb) left \(Self.cgroups(of: name))")
            #expect(!Self.exists("\(Self.runtimeRoot)/wpar/\(name)"), "\(verb) left the runtime directory")
            expectRefusal(try CLI.partctl(verb, name), mentioning: ["not running"])
        }
    }

    /// Refused input leaves nothing: no definition, no lock file. Nor does a command on a name that
    /// does not exist, nor a removed WPAR.
    @Test func refusedAndRemovedPartitionsLeaveNoLockFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-lock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("root/bin"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: dir.appendingPathComponent("root/bin/busybox").path)
        // The profile is well-formed; the engine refuses the root (no /proc, /dev, /sys).
        let profile = dir.appendingPathComponent("noproc.yaml")
        try "extends: wpar-system\nrootfs: {base: \(dir.path)/root, overlay: true}\n".write(to: profile, atomically: true, encoding: .utf8)
        let locks = Self.runtimeRoot + "/locks"

        let name = "ptest-refused-lock"
        expectRefusal(try CLI.partctl("define", name, "--profile", profile.path), status: 2, mentioning: ["/proc"])
        #expect(!Self.exists("\(locks)/\(name).lock"))
        #expect(!Self.exists("\(Self.stateRoot)/wpars/\(name)"))

        for verb in ["force", "activate", "shutdown", "remove"] {
            let missing = "ptest-no-such-\(verb)"
            #expect(try CLI.partctl(verb, missing).status == 2)
            #expect(!Self.exists("\(locks)/\(missing).lock"), "\(verb) of a missing partition left a lock file")
        }

        let removed = "ptest-removed-lock"
        HostWparTests.cleanup(removed)
        try #require(CLI.partctl("define", removed, "--profile", "wpar-app").status == 0)
        #expect(Self.exists("\(locks)/\(removed).lock"))
        #expect(try CLI.partctl("remove", removed).status == 0)
        #expect(!Self.exists("\(locks)/\(removed).lock"))
    }

    /// `resources: {disk: {max: 16MiB}}` from a profile: writing 64 MiB fails inside, and remove
    /// leaves no image, mount or loop device.
    @Test func diskLimitFromAProfile() throws {
        let name = "ptest-disk-cli"
        HostWparTests.cleanup(name)
        defer { HostWparTests.cleanup(name) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-disk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let profile = dir.appendingPathComponent("disk.yaml")
        try "extends: wpar-system\nresources: {disk: {max: 16MiB}}\n".write(to: profile, atomically: true, encoding: .utf8)
        try #require(CLI.partctl("define", name, "--profile", profile.path).status == 0)
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
        let fill = try CLI.partctl("login", name, "--", "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=64")
        #expect(fill.status != 0)
        #expect((fill.stdout + fill.stderr).contains("No space left on device"), "\(fill.stdout) \(fill.stderr)")
        let image = "\(Self.stateRoot)/wpars/\(name)/layer.img"
        #expect(Self.exists(image))
        #expect(try CLI.partctl("remove", name, "--force").status == 0)
        #expect(!Self.exists("\(Self.stateRoot)/wpars/\(name)"))
        let loops = { () -> [String] in
            ((try? FileManager.default.contentsOfDirectory(atPath: "/sys/block")) ?? []).filter { device in
                let backing = (try? String(contentsOfFile: "/sys/block/\(device)/loop/backing_file", encoding: .utf8)) ?? ""
                return backing.hasPrefix(image)
            }
        }
        #expect(CLI.waitFor(5) { loops().isEmpty }, "loop devices left: \(loops())")

        let application = dir.appendingPathComponent("app.yaml")
        try "extends: wpar-app\nresources: {disk: {max: 64MiB}}\n".write(to: application, atomically: true, encoding: .utf8)
        expectRefusal(try CLI.partctl("run", "--profile", application.path, "--", "/bin/true"), status: 2,
                      mentioning: ["resources.disk.max", "application"])
    }
}
