import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import WorkloadEngine

/// User-namespaced WPARs (issue 8): each its own host ID range, a writable root owned on the host by
/// that range, host trees that keep their owners inside, and no reach into another WPAR's processes.
@Suite(.serialized) struct UserNamespaceTests {
    /// A system WPAR on an overlay of the sandbox's busybox root, /usr shared, its range allocated.
    static func define(_ name: String, in sandbox: EngineSandbox, base: String) throws -> PartitionName {
        var spec = try SystemWparTests.spec(name, root: .overlay(lower: [base], upper: nil), command: SystemWparTests.quickInit)
        spec.userNamespace = .allocate
        let partition = try PartitionName(name)
        try sandbox.engine.define(partition, spec: spec)
        return partition
    }

    /// The host range of a running WPAR, from its init's uid_map: (first inside, first outside, count).
    static func uidMap(_ name: PartitionName, in sandbox: EngineSandbox) throws -> [UInt64] {
        let pid = try #require(try sandbox.engine.status(name).initPID)
        let text = try #require(SystemCall.readText("/proc/\(pid)/uid_map"))
        return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
    }

    @Test func twoWparsGetDisjointRangesThatStayOverARestart() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot()
        let first = try Self.define("ptest-uns-a", in: sandbox, base: base)
        let second = try Self.define("ptest-uns-b", in: sandbox, base: base)
        try sandbox.engine.activate(first)
        try sandbox.engine.activate(second)
        let a = try Self.uidMap(first, in: sandbox)
        let b = try Self.uidMap(second, in: sandbox)
        #expect(a.count == 3 && b.count == 3)
        #expect(a[0] == 0 && b[0] == 0 && a[2] == 65536 && b[2] == 65536)
        #expect(a[1] + a[2] <= b[1] || b[1] + b[2] <= a[1], "\(a) and \(b) overlap")
        #expect(a[1] >= UInt64(UserNamespaceRanges.regionStart) && b[1] >= UInt64(UserNamespaceRanges.regionStart))
        // Recorded with the definition, and the same after a restart.
        let recorded = try #require(try sandbox.engine.definition(of: first).userNamespace)
        #expect(recorded.allocated == true && recorded.uids.first?.outside == UInt32(a[1]))
        #expect(try sandbox.engine.status(first).userNamespace == recorded)
        try sandbox.engine.force(first)
        try sandbox.engine.activate(first)
        #expect(try Self.uidMap(first, in: sandbox) == a)
        // Released at remove: no lease of this sandbox's WPARs is left.
        try sandbox.engine.remove(first, force: true)
        try sandbox.engine.remove(second, force: true)
        let leases = try UserNamespaceRanges().leases().filter { [first, second].map(sandbox.engine.rangeHolder).contains($0.holder) }
        #expect(leases.isEmpty)
    }

    @Test func rootWritesItsOverlayRootOwnedOnTheHostByItsRange() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot()
        // Owned by host root in the shared base: changing it inside needs a copy-up to the WPAR's owner.
        try "root:x:0:0::/:/bin/sh\n".write(toFile: base + "/etc/passwd", atomically: true, encoding: .utf8)
        let name = try Self.define("ptest-uns-write", in: sandbox, base: base)
        try sandbox.engine.activate(name)
        let result = try sandbox.exec("ptest-uns-write", ["/bin/sh", "-c",
            "echo ptest > /ptest-file && echo ptest:x:7:7::/:/bin/sh >> /etc/passwd && mkdir /etc/ptest-dir && rm /etc/inittab && echo ok"])
        #expect(result.status == 0 && result.output.contains("ok"), "\(result.output)")
        let hostRoot = try Self.uidMap(name, in: sandbox)[1]
        let upper = SpawnPlan.defaultUpper(for: name, definitionsRoot: sandbox.paths.definitions)
        for path in ["/ptest-file", "/etc/passwd", "/etc/ptest-dir"] {
            var status = stat()
            #expect(stat(upper + path, &status) == 0, "\(path) is not in the upper layer")
            #expect(UInt64(status.st_uid) == hostRoot && UInt64(status.st_gid) == hostRoot, "\(path) is owned by \(status.st_uid)")
        }
        // The shared base is untouched.
        #expect(SystemCall.readText(base + "/etc/passwd") == "root:x:0:0::/:/bin/sh\n")
        #expect(HostSystem.fileType(base + "/etc/inittab") == .regular)
    }

    @Test func sharedUsrKeepsRootAsOwnerInside() throws {
        let sandbox = try EngineSandbox()
        let name = try Self.define("ptest-uns-usr", in: sandbox, base: try sandbox.busyboxRoot())
        try sandbox.engine.activate(name)
        let result = try sandbox.exec("ptest-uns-usr", ["/bin/sh", "-c", "stat -c '%u %g' /usr/bin/env; touch /usr/ptest 2>/dev/null || echo read-only"])
        #expect(result.output.split(separator: "\n") == ["0 0", "read-only"], "\(result.output)")
    }

    /// Root with CAP_SYS_ADMIN in its user namespace may remount a passed mount read-write (the
    /// kernel does not lock its flags): so its read-only shared paths are not idmapped, and host
    /// root's files there stay out of its reach.
    @Test func sysAdminCannotMakeSharedUsrWritable() throws {
        let sandbox = try EngineSandbox()
        var spec = try SystemWparTests.spec("ptest-uns-admin", root: .overlay(lower: [try sandbox.busyboxRoot()], upper: nil),
                                            command: SystemWparTests.quickInit)
        spec.userNamespace = .allocate
        spec.capabilities += ["sys_admin"]
        let name = try PartitionName("ptest-uns-admin")
        try sandbox.engine.define(name, spec: spec)
        try sandbox.engine.activate(name)
        let marker = "/usr/ptest-uns-\(getpid())"
        defer { unlink(marker) }
        let result = try sandbox.exec("ptest-uns-admin", ["/bin/sh", "-c",
            "mount -o remount,bind,rw /usr 2>/dev/null; touch \(marker) 2>/dev/null && echo wrote; stat -c %u /usr/bin/env"])
        #expect(!result.output.contains("wrote"), "root with sys_admin wrote into the host's /usr")
        #expect(HostSystem.fileType(marker) == nil)
    }

    /// A transient application WPAR takes a range for its run only, and its `mounts` keep their owners.
    @Test func runTakesARangeAndItsMountsKeepTheirOwners() throws {
        let sandbox = try EngineSandbox()
        let source = try sandbox.busyboxRoot()
        var spec = try sandbox.application("ptest-uns-run",
            "[ \"$(id -u)\" = 0 ] && grep -qE '^ +0 +18[0-9]{8} +65536$' /proc/self/uid_map && [ \"$(stat -c %u /tmp/ptest-m/bin/busybox)\" = 0 ] && ! touch /tmp/ptest-m/x 2>/dev/null")
        spec.mounts = [WorkloadMount(source: source, target: "/tmp/ptest-m", readOnly: true)]
        spec.userNamespace = .allocate
        let result = try sandbox.run(spec)
        #expect(result.status == 0, "\(result.output)")
        #expect(try UserNamespaceRanges().leases().allSatisfy { TransientName(parsing: $0.holder)?.owner.pid != getpid() },
                "the run's range was not given back")
    }

    /// Root of one WPAR, joined from the host with its user namespace only (so it can address the
    /// other's processes by host PID), may neither signal nor read the other's init: their ranges differ.
    @Test func rootOfOneWparCannotReachTheOthersProcesses() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot()
        let first = try Self.define("ptest-uns-x", in: sandbox, base: base)
        let second = try Self.define("ptest-uns-y", in: sandbox, base: base)
        try sandbox.engine.activate(first)
        try sandbox.engine.activate(second)
        let inside = try #require(try sandbox.engine.status(first).initPID)
        let other = try #require(try sandbox.engine.status(second).initPID)
        let probe = try TestProcess.run("/usr/bin/nsenter", ["--user", "--target", "\(inside)", "--setuid", "0", "--setgid", "0", "/bin/sh", "-c",
            "[ \"$(id -u)\" = 0 ] || exit 3; kill -0 \(other) 2>/dev/null && exit 4; cat /proc/\(other)/environ >/dev/null 2>&1 && exit 5; exit 0"],
            timeout: 30)
        #expect(probe.status == 0, "3: not root inside, 4: signalled the other WPAR's init, 5: read its environment")
    }

    /// A lease whose holder is gone (here a WPAR of a definitions root that no longer exists, as a
    /// killed test or define leaves it) is taken back by the next allocation.
    @Test func leaseOfAGoneHolderIsTakenBack() throws {
        let sandbox = try EngineSandbox()
        let ranges = UserNamespaceRanges()
        try StateDirectory.ensure(ranges.directory, mode: 0o700)
        let stale = ranges.directory + "/\(UserNamespaceRanges.regionEnd - UserNamespaceRanges.size)-65536.ptest-gone@"
            + WorkloadEngine.escape(sandbox.base + "/no-such-root")
        let fd = open(stale, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        close(fd)
        defer { unlink(stale) }
        _ = try Self.define("ptest-uns-next", in: sandbox, base: try sandbox.busyboxRoot())
        #expect(HostSystem.fileType(stale) == nil, "the stale lease is still there")
    }

    @Test func pinnedRangeOverlappingAnotherWparIsRefused() throws {
        let sandbox = try EngineSandbox()
        let base = try sandbox.busyboxRoot()
        let first = try Self.define("ptest-uns-p", in: sandbox, base: base)
        let held = try #require(try sandbox.engine.definition(of: first).userNamespace?.uids.first?.outside)
        var spec = try SystemWparTests.spec("ptest-uns-q", root: .overlay(lower: [base], upper: nil), command: SystemWparTests.quickInit)
        spec.userNamespace = .shifted(by: held + 100)
        let second = try PartitionName("ptest-uns-q")
        #expect {
            try sandbox.engine.define(second, spec: spec)
        } throws: { error in
            (error as? PartitionError)?.code == .invalidArgument && "\(error)".contains("overlap")
        }
        #expect(!sandbox.engine.definedNames().contains(second))
    }
}
