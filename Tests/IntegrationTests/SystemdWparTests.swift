import Foundation
import PartctlTestSupport
import Testing

/// A Debian system WPAR whose init is systemd, on this host's cgroups (hybrid here: v1 controllers,
/// cgroup2 beside them): systemd boots to running or degraded, is PID 1, every unit it starts stays
/// inside the WPAR's limits, the host's systemd never hears of its units, and `shutdown` (SIGRTMIN+3)
/// ends in `defined` well within its time.
///
/// The profile is the shipped wpar-debian, on the debian-12 image (`partctl image build debian-12`)
/// or on the directory named by PARTCTL_TEST_DEBIAN_ROOTFS (an `mmdebstrap --variant=minbase
/// --include=systemd,systemd-sysv,dbus` tree), imported as a test image; without either the test
/// says so and does nothing.
@Suite(.serialized) struct SystemdWparTests {
    static let name = "ptest-systemd"
    static let pidsMax = 64

    static let testImage = "ptest-img-sd"

    /// The image wpar-debian runs on: the store's debian-12, or the given tree imported as a test image.
    static func image() throws -> String? {
        if let given = ProcessInfo.processInfo.environment["PARTCTL_TEST_DEBIAN_ROOTFS"], !given.isEmpty {
            _ = try? CLI.partctl("image", "remove", testImage)
            let imported = try CLI.partctl("image", "import", "dir:\(given)", "--name", testImage, timeout: 300)
            try #require(imported.status == 0, "\(imported.stderr)")
            return testImage
        }
        if FileManager.default.fileExists(atPath: "/var/lib/partctl/store/debian-12/image.json") { return "debian-12" }
        print("SystemdWparTests: no debian-12 image in the store and no PARTCTL_TEST_DEBIAN_ROOTFS; build it with 'partctl image build debian-12'.")
        return nil
    }

    static func cleanup() {
        _ = try? CLI.partctl("remove", name, "--force")
    }

    /// The WPAR's cgroup in the hierarchy that holds `file` (pids.max, memory.max or
    /// memory.limit_in_bytes): a v1 controller's or the cgroup2 one.
    static func cgroupDirectory(holding file: String) -> String? {
        let root = "/sys/fs/cgroup"
        let hierarchies = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).map { "\(root)/\($0)" } + [root]
        return hierarchies.map { "\($0)/partctl/\(name)" }.first { FileManager.default.fileExists(atPath: "\($0)/\(file)") }
    }

    @Test func systemdBootsInsideItsLimitsAndHalts() throws {
        Self.cleanup()
        guard let image = try Self.image() else { return }
        defer {
            Self.cleanup()
            if image == Self.testImage { _ = try? CLI.partctl("image", "remove", Self.testImage) }
        }
        // The shipped profile itself, on that image, with a small task limit to run into.
        let define = try CLI.partctl("define", Self.name, "--profile", "wpar-debian", "-i", "image=\(image),pids_max=\(Self.pidsMax)")
        try #require(define.status == 0, "\(define.stderr)")
        let activate = try CLI.partctl("activate", Self.name)
        try #require(activate.status == 0, "\(activate.stderr)")

        // systemd reaches running (or degraded: a unit failed, the system is up) within a bound.
        // Until systemd listens on its private socket, systemctl fails ("Failed to connect to bus")
        // or says "offline" at once.
        var state = try CLI.partctl("login", Self.name, "--", "systemctl", "is-system-running", "--wait", timeout: 120)
        _ = try CLI.waitFor(90, interval: 0.5) {
            state = try CLI.partctl("login", Self.name, "--", "systemctl", "is-system-running", "--wait", timeout: 120)
            return !["", "offline\n"].contains(state.stdout)
        }
        #expect(["running\n", "degraded\n"].contains(state.stdout), "is-system-running: \(state)")
        if state.stdout == "degraded\n" {
            print("SystemdWparTests: degraded; failed units: \((try? CLI.partctl("login", Self.name, "--", "systemctl", "--failed", "--no-legend").stdout) ?? "")")
        }
        #expect(try CLI.partctl("login", Self.name, "--", "cat", "/proc/1/comm").stdout == "systemd\n")
        #expect(try CLI.partctl("login", Self.name, "--", "cat", "/run/systemd/container").stdout == "partctl\n")
        // systemd knows partctl by no name of its list: a container all the same.
        #expect(try CLI.partctl("login", Self.name, "--", "systemd-detect-virt", "--container").stdout == "container-other\n")

        // A unit's process is in the WPAR's memory and pids cgroups (v1 here, or below them on v2).
        let hold = try CLI.partctl("login", Self.name, "--", "systemd-run", "--unit=ptest-hold", "-p", "Type=exec", "/bin/sleep", "300")
        #expect(hold.status == 0, "\(hold.stderr)")
        let holdPid = try CLI.partctl("login", Self.name, "--", "systemctl", "show", "-P", "MainPID", "ptest-hold").stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        // Inside, that is a PID of the WPAR's namespace: find the host's through the unit's cgroup2 directory.
        let unified = try #require(Self.cgroupDirectory(holding: "cgroup.subtree_control"))
        let unitProcs = (try? String(contentsOfFile: "\(unified)/payload/system.slice/ptest-hold.service/cgroup.procs", encoding: .utf8)) ?? ""
        let hostPid = try #require(unitProcs.split(separator: "\n").first, "no process in ptest-hold.service (MainPID inside: \(holdPid))")
        let membership = try String(contentsOfFile: "/proc/\(hostPid)/cgroup", encoding: .utf8)
        for controller in ["memory", "pids"] {
            let fields = membership.split(separator: "\n").map { $0.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false) }
            let line = fields.first { $0.count == 3 && $0[1].split(separator: ",").contains(Substring(controller)) }
                ?? fields.first { $0.count == 3 && $0[0] == "0" }
            let path = line.map { String($0[2]) } ?? ""
            #expect(path == "/partctl/\(Self.name)" || path.hasPrefix("/partctl/\(Self.name)/"), "\(controller): \(membership)")
        }
        // The host's systemd (where it is PID 1) never heard of the WPAR's unit, and nothing of it is
        // in the host's own part of the cgroup2 tree.
        if FileManager.default.fileExists(atPath: "/run/systemd/system") {
            let hostUnit = try CLI.run("/bin/systemctl", ["show", "-P", "LoadState", "ptest-hold.service"])
            #expect(hostUnit.stdout == "not-found\n", "\(hostUnit)")
        }
        let cgroup2Root = String(unified.dropLast("/partctl/\(Self.name)".count))
        #expect(!FileManager.default.fileExists(atPath: "\(cgroup2Root)/system.slice/ptest-hold.service"))
        #expect(unified.hasPrefix(cgroup2Root + "/partctl/"))

        // The writable cgroup2 view is rooted below the cgroup that holds the limits: whatever the
        // WPAR writes into the limit files it sees, the WPAR's own limits stay as they were.
        _ = try CLI.partctl("login", Self.name, "--", "/bin/sh", "-c",
                            "for f in /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory.high; do echo max > $f; done 2>/dev/null; true")
        let pids = try #require(Self.cgroupDirectory(holding: "pids.max"))
        #expect((try? String(contentsOfFile: "\(pids)/pids.max", encoding: .utf8)) == "\(Self.pidsMax)\n")
        #expect(try CLI.partctl("login", Self.name, "--", "cat", "/proc/self/cgroup").stdout.contains("0::/init.scope\n"))

        // A unit that forks beyond pids.max fails, and the limit that stopped it is the WPAR's.
        let bomb = try CLI.partctl("login", Self.name, "--", "systemd-run", "--wait", "--quiet", "-p", "Type=exec", "/bin/sh", "-c",
                                   "i=0; while [ $i -lt \(Self.pidsMax * 2) ]; do /bin/sleep 30 & i=$((i+1)); done; wait", timeout: 90)
        #expect(bomb.status != 0, "a unit forked \(Self.pidsMax * 2) processes under pids.max \(Self.pidsMax): \(bomb)")
        let events = (try? String(contentsOfFile: "\(pids)/pids.events", encoding: .utf8)) ?? ""
        #expect(events.contains("max ") && !events.contains("max 0"), "pids.events of the WPAR: \(events)")

        // SIGRTMIN+3: systemd halts and exits as PID 1; shutdown ends in defined, well within its time.
        let started = Date()
        let shutdown = try CLI.partctl("shutdown", Self.name, "--within", "60", timeout: 90)
        #expect(shutdown.status == 0, "\(shutdown.stderr)")
        #expect(Date().timeIntervalSince(started) < 60)
        #expect(try CLI.partctl("query", Self.name, "-F", "state,exit_status").stdout == "defined,0\n")
        #expect(Self.cgroupDirectory(holding: "cgroup.procs") == nil, "the WPAR's cgroups are left behind")
    }
}
