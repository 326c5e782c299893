import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import WorkloadEngine

/// An application WPAR on a root of its own (an OCI image's), as partctl runs one: read-only for a
/// transient run, a writable layer of its own when defined; its command as the image's User.
@Suite(.serialized) struct ImageRootTests {
    static let busybox = "/var/lib/partctl/rootfs/busybox"
    static var hasRoot: Bool { geteuid() == 0 && access(busybox + "/bin/busybox", X_OK) == 0 }

    static func spec(_ root: WorkloadRoot, _ script: String, user: WorkloadUser? = nil) throws -> WorkloadSpec {
        var spec = WorkloadSpec(name: try PartitionName("ptest-imageroot"), kind: .application, root: root,
                                command: ["/bin/sh", "-c", script], network: .loopback)
        spec.user = user
        spec.minimalInit = true
        return spec
    }

    /// The user, its groups and no capability in its effective set; the root read-only, /tmp its own.
    @Test(.enabled(if: hasRoot, "needs root and the busybox rootfs (make setup)"))
    func transientRunTakesTheUserOnAReadOnlyImageRoot() throws {
        let sandbox = try EngineSandbox()
        let script = "id -u; id -g; id -G; grep CapEff /proc/self/status; touch /etc/x 2>/dev/null && echo wrote-root; touch /tmp/x && echo wrote-tmp"
        let result = try sandbox.run(try Self.spec(.directory(path: Self.busybox), script, user: WorkloadUser(uid: 1000, gid: 1001, groups: [50])))
        #expect(result.status == 0, "\(result.output)")
        let lines = result.output.split(separator: "\n").map(String.init)
        #expect(lines.prefix(3) == ["1000", "1001", "1001 50"], "\(result.output)")
        #expect(lines.contains("CapEff:\t0000000000000000"), "\(result.output)")
        #expect(!lines.contains("wrote-root") && lines.contains("wrote-tmp"), "\(result.output)")
    }

    /// uid 0 keeps the profile's capabilities, as before.
    @Test(.enabled(if: hasRoot, "needs root and the busybox rootfs (make setup)"))
    func rootUserKeepsItsCapabilities() throws {
        let sandbox = try EngineSandbox()
        let result = try sandbox.run(try Self.spec(.directory(path: Self.busybox), "id -u; grep CapEff /proc/self/status",
                                                   user: WorkloadUser(uid: 0, gid: 0)))
        // audit_write (29), kill (5), net_bind_service (10): the default set of an application WPAR.
        #expect(result.output == "0\nCapEff:\t0000000020000420\n", "\(result.output)")
    }

    /// A defined application WPAR on an image gets a writable layer: what it writes lands there,
    /// never in the image.
    @Test(.enabled(if: hasRoot, "needs root and the busybox rootfs (make setup)"))
    func definedImageWparWritesToItsOwnLayer() throws {
        let sandbox = try EngineSandbox()
        let name = try PartitionName("ptest-imagelayer")
        var spec = try Self.spec(.overlay(lower: [Self.busybox], upper: nil), "echo layer >/etc/ptest-written; sleep 30")
        spec.name = name
        try sandbox.engine.define(name, spec: spec)
        try sandbox.engine.activate(name)
        let upper = SpawnPlan.defaultUpper(for: name, definitionsRoot: sandbox.paths.definitions)
        let written = waitUntil(timeout: 10) { access(upper + "/etc/ptest-written", F_OK) == 0 }
        #expect(written, "the WPAR's write is in its own layer")
        #expect(access(Self.busybox + "/etc/ptest-written", F_OK) != 0, "the image is untouched")
    }
}
