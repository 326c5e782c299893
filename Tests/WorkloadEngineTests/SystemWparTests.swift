import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import WorkloadEngine

/// System WPARs on a busybox root, under their supervisor: lifecycle, isolation seen through
/// `exec` (the login path), console, overlay roots, an init that ends by itself.
@Suite(.serialized) struct SystemWparTests {
    static func spec(_ name: String, root: WorkloadRoot, command: [String] = ["/sbin/init"], console: Bool = false,
                     limits: WorkloadLimits = WorkloadLimits(pidsMax: 64)) throws -> WorkloadSpec {
        WorkloadSpec(name: try PartitionName(name), kind: .system, root: root, sharedPaths: ["/usr"], command: command,
                     network: .loopback, limits: limits, console: console)
    }

    /// An init that ends at once on SIGTERM, for tests that stop a WPAR without busybox's 3-second
    /// shutdown sequence.
    static let quickInit = ["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]

    @Test func busyboxInitLifecycleAndIsolation() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        symlink("/etc/passwd", root + "/dev/null")  // a planted fake: the WPAR's /dev is fresh anyway
        let name = try PartitionName("ptest-sys")
        try sandbox.engine.define(name, spec: Self.spec("ptest-sys", root: .directory(path: root)))
        #expect(try sandbox.engine.status(name).state == .defined)
        try sandbox.engine.activate(name)
        let status = try sandbox.engine.status(name)
        #expect(status.state == .running)
        #expect(status.initPID != nil && status.supervisorPID != nil)

        let checks: [(String, String)] = [
            ("PID 1 is busybox init", "[ \"$(cat /proc/1/comm)\" = init ]"),
            ("only the WPAR's processes are visible", "for p in /proc/[0-9]*; do [ ${p#/proc/} -lt 20 ] || exit 1; done"),
            ("no host PID is visible", "! [ -e /proc/\(getpid()) ]"),
            ("/usr is shared read-only", "[ -x /usr/bin/env ] && ! touch /usr/ptest 2>/dev/null && grep -qE ' /usr ro,' /proc/self/mountinfo"),
            ("host mounts are not visible",
             "! grep -qE ' /sys/fs/cgroup/memory | /var/lib ' /proc/self/mountinfo && [ $(wc -l < /proc/self/mountinfo) -lt 40 ]"),
            ("the WPAR's own root is writable", "touch /root/ptest-written"),
            ("its hostname is its name", "[ \"$(hostname)\" = ptest-sys ]"),
            ("/dev/null is a device, not the planted symlink", "[ -c /dev/null ] && ! [ -L /dev/null ]"),
            ("the joined process has no_new_privs and the WPAR's bounding set",
             "grep -q '^NoNewPrivs:\t1$' /proc/self/status && grep -q '^CapBnd:\t0000000020000420$' /proc/self/status"),
            ("the joined process is in the WPAR's cgroup namespace", "grep -q '^0::/$' /proc/self/cgroup"),
            ("the joined process gets no host environment", "! env | grep -q PTEST_HOST_SECRET"),
            ("the joined process is not dumpable-reachable: /proc/1/exe is the WPAR's init", "[ \"$(readlink /proc/1/exe)\" = /bin/busybox ]"),
        ]
        setenv("PTEST_HOST_SECRET", "leaked", 1)
        for (label, script) in checks {
            let result = try sandbox.exec("ptest-sys", ["/bin/sh", "-c", script])
            #expect(result.status == 0, "\(label): \(result.output)")
        }
        #expect(HostSystem.fileType(root + "/root/ptest-written") == .regular)
        #expect(try sandbox.exec("ptest-sys", ["/bin/sh", "-c", "exit 5"]).status == 5)
        let fds = try sandbox.exec("ptest-sys", ["/bin/ls", "/proc/self/fd"])
        #expect(fds.output.split(separator: "\n") == ["0", "1", "2", "3"])
        let usage = try #require(try sandbox.engine.usage(name))
        #expect((usage.pidsCurrent ?? 0) >= 2)

        let stop = HostSystem.monotonicSeconds()
        try sandbox.engine.shutdown(name, within: 10)
        #expect(HostSystem.monotonicSeconds() - stop < 8)
        let after = try sandbox.engine.status(name)
        #expect(after.state == .defined)
        #expect(after.lastExit != nil)
        let left = Leftovers.of("ptest-sys", in: sandbox)
        #expect(left.isEmpty, "\(left)")
        #expect(!EngineSandbox.processes().contains(status.initPID!))
    }

    @Test func initThatEndsIsRecordedAndCleanedUp() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let name = try PartitionName("ptest-ends")
        try sandbox.engine.define(name, spec: Self.spec("ptest-ends", root: .directory(path: root),
                                                        command: ["/bin/sh", "-c", "sleep 0.3; exit 3"]))
        try sandbox.engine.activate(name)
        #expect(try waitUntil(timeout: 5, interval: 0.05) { try sandbox.engine.status(name).state == .defined })
        let status = try sandbox.engine.status(name)
        #expect(status.state == .defined)
        #expect(status.lastExit?.code == 3)
        // The supervisor removes the runtime record first and exits just after.
        var left = Leftovers.of("ptest-ends", in: sandbox)
        #expect(eventually(within: 5) { left = Leftovers.of("ptest-ends", in: sandbox); return left.isEmpty }, "\(left)")
        // And it starts again.
        try sandbox.engine.activate(name)
        #expect(try sandbox.engine.status(name).state == .running)
        try sandbox.engine.force(name)
    }

    /// An init that ends at once still makes a successful activation; its end is recorded.
    @Test func initThatEndsAtOnce() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let name = try PartitionName("ptest-brief")
        try sandbox.engine.define(name, spec: Self.spec("ptest-brief", root: .directory(path: root), command: ["/bin/true"]))
        try sandbox.engine.activate(name)
        #expect(try waitUntil(timeout: 5, interval: 0.02) { try sandbox.engine.status(name).state == .defined })
        #expect(try sandbox.engine.status(name).lastExit?.code == 0)
        #expect(Leftovers.of("ptest-brief", in: sandbox).isEmpty)
    }

    @Test func consoleAttachAndDetach() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot(inittab: "::respawn:-/bin/sh\n")
        let name = try PartitionName("ptest-console")
        try sandbox.engine.define(name, spec: Self.spec("ptest-console", root: .directory(path: root), console: true))
        try sandbox.engine.activate(name)
        defer { try? sandbox.engine.force(name) }
        let socket = sandbox.paths.runtimeDirectory(for: name) + "/console.sock"

        let first = try ConsoleClient.connect(to: socket)
        #expect(HostSystem.writeAll(first, Array("echo ptest-$((6*7))\n".utf8)))
        #expect(Self.read(first, until: "ptest-42", seconds: 5))
        // One client at a time.
        let second = try ConsoleClient.connect(to: socket)
        #expect(Self.read(second, until: "in use", seconds: 5))
        close(second)
        // Detaching leaves the WPAR running, and a new client gets the console.
        close(first)
        // The supervisor takes the next client once it has seen the first go: connect until one is served.
        var third: Int32 = -1
        let served = waitUntil(timeout: 5, interval: 0.02) {
            guard let client = try? ConsoleClient.connect(to: socket) else { return false }
            if HostSystem.writeAll(client, Array("echo ptest-again\n".utf8)) && Self.read(client, until: "ptest-again", seconds: 1) {
                third = client
                return true
            }
            close(client)
            return false
        }
        #expect(served, "no client was served after the first detached")
        #expect(try sandbox.engine.status(name).state == .running)
        if third >= 0 { close(third) }
    }

    @Test func overlayRootLeavesItsBaseUntouched() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot("base")
        let name = try PartitionName("ptest-overlay")
        try sandbox.engine.define(name, spec: Self.spec("ptest-overlay", root: .overlay(lower: [base], upper: nil), command: Self.quickInit))
        try sandbox.engine.activate(name)
        #expect(try sandbox.exec("ptest-overlay", ["/bin/sh", "-c", "touch /root/ptest-upper && rm /bin/ls"]).status == 0)
        try sandbox.engine.shutdown(name, within: 5)
        let upper = SpawnPlan.defaultUpper(for: name, definitionsRoot: sandbox.paths.definitions)
        #expect(HostSystem.fileType(upper + "/root/ptest-upper") == .regular)
        #expect(HostSystem.fileType(base + "/root/ptest-upper") == nil)
        #expect(HostSystem.fileType(base + "/bin/ls") == .symlink)
        #expect(Leftovers.of("ptest-overlay", in: sandbox).isEmpty)
    }

    /// A /proc turned into a symlink after the plan was checked (the race of CVE-2019-16884) is
    /// refused by the child itself, naming the step.
    @Test func symlinkSwappedInAfterValidationIsRefusedInTheChild() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let spec = try Self.spec("ptest-swap", root: .directory(path: root), command: Self.quickInit)
        let plan = try SpawnPlan(spec: spec, host: sandbox.engine.host)
        rmdir(root + "/proc")
        symlink("/", root + "/proc")
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        defer { close(null) }
        let pending = try PendingProcess.start(plan, cgroupFD: -1, stdio: .all(null, terminal: false), deathSignal: SIGKILL)
        #expect {
            try pending.release()
        } throws: { error in
            let message = (error as? PartitionError)?.message ?? ""
            return message.contains("mount /proc") && message.contains("symlink")
        }
    }

    /// Reads from `fd` until `text` has appeared or time runs out.
    static func read(_ fd: Int32, until text: String, seconds: Double) -> Bool {
        var seen: [UInt8] = []
        let deadline = HostSystem.monotonicSeconds() + seconds
        var buffer = [UInt8](repeating: 0, count: 1024)
        while HostSystem.monotonicSeconds() < deadline {
            var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&entry, 1, 100) > 0 else { continue }
            let got = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if got <= 0 { break }
            seen += buffer[..<got]
            if String(decoding: seen, as: UTF8.self).contains(text) { return true }
        }
        return false
    }
}

/// A bridged system WPAR end to end: its eth0 answers from the host, and the host side of its veth
/// pair is gone once it stops.
@Suite(.serialized) struct BridgedWparTests {
    static func ip(_ arguments: [String]) -> Int32 {
        (try? TestProcess.run("/sbin/ip", arguments, timeout: 30))?.status ?? -1
    }

    @Test func bridgedWparAnswersAndLeavesNoVeth() throws {
        let bridge = "ptest-bw\(getpid() % 100_000)"
        #expect(Self.ip(["link", "add", bridge, "type", "bridge"]) == 0)
        defer { _ = Self.ip(["link", "del", bridge]) }
        #expect(Self.ip(["addr", "add", "10.213.90.1/24", "dev", bridge]) == 0)
        #expect(Self.ip(["link", "set", bridge, "up"]) == 0)

        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        let name = try PartitionName("ptest-bridged")
        var spec = try SystemWparTests.spec("ptest-bridged", root: .directory(path: root), command: SystemWparTests.quickInit)
        spec.network = .bridge(BridgeAttachment(bridge: bridge, address: "10.213.90.2/24", gateway: "10.213.90.1"))
        try sandbox.engine.define(name, spec: spec)
        try sandbox.engine.activate(name)
        let inside = try sandbox.exec("ptest-bridged", ["/bin/sh", "-c", "ip -4 addr show dev eth0; ip route"])
        #expect(inside.output.contains("10.213.90.2/24"), "\(inside.output)")
        #expect(inside.output.contains("default via 10.213.90.1"), "\(inside.output)")
        let ping = try TestProcess.run("/bin/busybox", ["ping", "-c", "1", "-W", "2", "10.213.90.2"], timeout: 30)
        #expect(ping.status == 0, "\(ping)")
        let veth = NetworkSetup.hostInterfaceName(for: "ptest-bridged")
        #expect(HostSystem.fileType("/sys/class/net/" + veth) != nil)
        try sandbox.engine.shutdown(name, within: 5)
        #expect(HostSystem.fileType("/sys/class/net/" + veth) == nil)
        #expect(Leftovers.of("ptest-bridged", in: sandbox).isEmpty)
    }
}
