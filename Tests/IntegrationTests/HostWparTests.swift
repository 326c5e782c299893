import Foundation
import PartctlTestSupport
import Testing

/// Host WPARs through the partctl command line: the same verbs and tree as LPARs.
/// (The engine's isolation, limits and faults are tested in depth in WorkloadEngineTests.)
@Suite(.serialized) struct HostWparTests {
    static func cleanup(_ name: String) {
        precondition(name.hasPrefix("ptest-"))
        _ = try? CLI.partctl("remove", name, "--force")
    }

    @Test func systemWparLifecycle() throws {
        let name = "ptest-tools"
        Self.cleanup(name)
        defer { Self.cleanup(name) }
        let define = try CLI.partctl("define", name, "--profile", "wpar-system")
        try #require(define.status == 0, "\(define.stderr)")
        #expect(try CLI.partctl("query", name, "-F", "kind,type,state").stdout == "wpar,system,defined\n")
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
        expectRefusal(try CLI.partctl("activate", name), mentioning: ["already"])

        // PID 1 is the WPAR's init; no host process is visible.
        let ps = try CLI.partctl("login", name, "--", "ps", "-o", "pid,args")
        #expect(ps.status == 0, "\(ps.stderr)")
        let lines = ps.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(lines.first?.first == "1" && lines.first?.last == "init", "PID 1 is not the WPAR's init: \(ps.stdout)")
        #expect(lines.count <= 4, "more processes than the WPAR's own: \(ps.stdout)")
        #expect(try CLI.partctl("login", name, "--", "sh", "-c", "exit 3").status == 3)

        let modify = try CLI.partctl("modify", name, "-i", "memory_max=128MiB,cpu_max=0.5", "--live")
        #expect(modify.status == 0, "\(modify.stderr)")
        #expect(try CLI.partctl("query", name, "-F", "memory_max,cpu_max").stdout == "128MiB,0.5\n")
        expectRefusal(try CLI.partctl("modify", name, "-i", "hostname=other", "--live"), mentioning: ["--config"])

        let tree = try CLI.partctl("tree", "--json")
        #expect(tree.stdout.contains("\"name\":\"\(name)\",\"path\":\"\(name)\",\"kind\":\"wpar\",\"state\":\"running\",\"type\":\"system\""))
        expectRefusal(try CLI.partctl("remove", name), mentioning: ["running", "--force"])

        let shutdown = try CLI.partctl("shutdown", name, "--within", "10")
        #expect(shutdown.status == 0, "\(shutdown.stderr)")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "defined\n")
        #expect(try CLI.partctl("remove", name).status == 0)
        #expect(try CLI.partctl("query", name).status == 2)
    }

    /// partctl's cgroups in every hierarchy this host has (v1 controllers, the v2 or hybrid
    /// unified mount, or pure v2 at the root), as hierarchy/name: not one hierarchy's count, which
    /// is nothing at all where that hierarchy is not mounted.
    static func partctlCgroups() -> Set<String> {
        let root = "/sys/fs/cgroup"
        let hierarchies = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).map { "\(root)/\($0)" } + [root]
        return Set(hierarchies.flatMap { hierarchy in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(hierarchy)/partctl")) ?? [])
                .filter { (try? FileManager.default.attributesOfItem(atPath: "\(hierarchy)/partctl/\($0)")[.type] as? FileAttributeType) == .typeDirectory }
                .map { "\(hierarchy)/partctl/\($0)" }
        })
    }

    @Test func runReturnsTheExitStatusAndLeavesNothing() throws {
        let before = Self.partctlCgroups()
        // The premise: this check sees a transient run's cgroups while it runs.
        let running = try BackgroundProcess(CLI.binary, ["run", "--profile", "wpar-app", "--", "/bin/sh", "-c", "echo up; read line"],
                                            input: .pipe)
        #expect(running.waitForOutput(containing: "up", timeout: 30), "\(running.stderr)")
        #expect(!Self.partctlCgroups().subtracting(before).isEmpty, "a running WPAR's cgroups were not seen")
        running.send("done\n")
        #expect(running.finish(within: 30).status == 0)
        let result = try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/sh", "-c", "echo inside; exit 7")
        #expect(result.status == 7, "\(result.stderr)")
        #expect(result.stdout == "inside\n")
        // PID 1 is the minimal init (init: true, the default), the command its first child.
        let pid1 = try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/sh", "-c", "echo $$")
        #expect(pid1.stdout == "2\n")
        let after = Self.partctlCgroups()
        #expect(after.subtracting(before).isEmpty, "cgroups left behind: \(after.subtracting(before).sorted())")
        expectRefusal(try CLI.partctl("run", "--profile", "lpar-minimal", "--", "/bin/true"), mentioning: ["application"])
    }

    /// The shipped application profile runs in a user namespace: root inside, not the host's root.
    @Test func shippedApplicationProfileRunsInAUserNamespace() throws {
        let result = try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/sh", "-c", "id -u; cat /proc/self/uid_map")
        #expect(result.status == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(lines.first == ["0"])
        let map = lines.dropFirst().first ?? []
        #expect(map.count == 3 && map[0] == "0" && map[1] != "0" && map[2] == "65536", "uid_map: \(result.stdout)")
    }

    /// A profile may pin its range; one that meets another WPAR's is refused (exit 2), nothing made.
    @Test func pinnedUserNamespaceRangeMustNotOverlapAnother() throws {
        let directory = NSTemporaryDirectory() + "ptest-pinned-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for (file, base) in [("first", 1_900_000_000), ("second", 1_900_001_000)] {
            try "kind: wpar\nextends: wpar-system\nuser_namespace: {base: \(base)}\n"
                .write(toFile: "\(directory)/\(file).yaml", atomically: true, encoding: .utf8)
        }
        let (first, second) = ("ptest-pin-a", "ptest-pin-b")
        Self.cleanup(first)
        Self.cleanup(second)
        defer { Self.cleanup(first); Self.cleanup(second) }
        let define = try CLI.partctl("define", first, "--profile", "\(directory)/first.yaml")
        try #require(define.status == 0, "\(define.stderr)")
        #expect(try CLI.partctl("query", first, "-F", "uid_map").stdout == "0 1900000000 65536\n")
        expectRefusal(try CLI.partctl("define", second, "--profile", "\(directory)/second.yaml"), status: 2,
                      mentioning: ["overlap", first])
        #expect(try CLI.partctl("query", second).status == 2)
    }

    /// A memory hog is OOM-killed inside its WPAR; partctl and the host are untouched.
    @Test func memoryHogIsKilledInsideItsWpar() throws {
        let hog = try CLI.partctl("run", "--profile", "wpar-app", "-i", "memory_max=32MiB", "--",
                                  "/usr/bin/python3", "-c", "b = bytearray(200 * 1024 * 1024); print('survived')")
        #expect(hog.status == 137, "expected SIGKILL by the OOM killer (137), got \(hog.status): \(hog.stdout) \(hog.stderr)")
        #expect(!hog.stdout.contains("survived"))
        // The manager still answers.
        #expect(try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/true").status == 0)
    }

    /// A CPU cap of 0.5 holds to within 10% over three seconds of a busy loop.
    @Test func cpuCapHolds() throws {
        let loop = "import time\ns = time.time(); c = time.process_time()\nwhile time.time() - s < 3: pass\n"
            + "print(round((time.process_time() - c) / (time.time() - s), 3))"
        let result = try CLI.partctl("run", "--profile", "wpar-app", "-i", "cpu_max=0.5", "--", "/usr/bin/python3", "-c", loop)
        #expect(result.status == 0, "\(result.stderr)")
        let share = Double(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        #expect(share <= 0.55, "the WPAR used \(share) of a CPU under a cap of 0.5")
        #expect(share >= 0.25, "the WPAR hardly ran: \(share) of a CPU")
    }

    @Test func refusesBadWparProfiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-wpar-profiles-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String, [String])] = [
            ("rootfs", "extends: wpar-system\nrootfs: {base: /nonexistent/rootfs}\n", ["/nonexistent/rootfs"]),
            ("root-bind", "extends: wpar-app\nmounts: [{source: /, target: /host}]\n", ["mounts"]),
            ("libvirt-bind", "extends: wpar-app\nmounts: [{source: /run/libvirt, target: /x}]\n", ["/run/libvirt"]),
            ("limits", "extends: wpar-app\nresources: {memory: {high: 1GiB, max: 1MiB}}\n", ["memory"]),
            ("caps", "extends: wpar-app\ncapabilities: [sys_module]\n", ["sys_module"]),
        ]
        for (label, text, words) in cases {
            let file = dir.appendingPathComponent("\(label).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            let name = "ptest-bad-\(label)"
            expectRefusal(try CLI.partctl("define", name, "--profile", file.path), mentioning: words)
            #expect(try CLI.partctl("query", name).status == 2, "\(label) left a definition")
        }
    }

    @Test func namesAreSharedWithLpars() throws {
        let name = "ptest-shared-name"
        Self.cleanup(name)
        defer { Self.cleanup(name); CLI.removeDomain(name) }
        try #require(CLI.partctl("define", name, "--profile", "wpar-app").status == 0)
        expectRefusal(try CLI.partctl("define", name, "--profile", "lpar-memtest"), mentioning: ["already exists"])
        #expect(!(try CLI.domainNames().contains(name)))
    }
}
