import Foundation
import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine

/// Every refusal of the plan builder: bad input is named, and nothing is created.
@Suite struct SpawnPlanValidationTests {
    static let host = SpawnHost(runtimeRoot: "/run/partctl", definitionsRoot: "/var/lib/partctl", lastCapability: 40,
                                hasCgroup2: true, onlineCPUs: 2)

    static func application(_ change: (inout WorkloadSpec) -> Void) -> WorkloadSpec {
        var spec = WorkloadSpec(name: try! PartitionName("ptest-plan"), kind: .application, root: .host, command: ["/bin/true"])
        change(&spec)
        return spec
    }

    struct Refusal: CustomTestStringConvertible, Sendable {
        var label: String
        var spec: WorkloadSpec
        /// Words the error message must contain.
        var mentions: String
        var testDescription: String { label }
    }

    static let refusals: [Refusal] = [
        Refusal(label: "empty command", spec: application { $0.command = [] }, mentions: "no command"),
        Refusal(label: "NUL in an argument", spec: application { $0.command = ["/bin/echo", "a\u{0}b"] }, mentions: "NUL"),
        Refusal(label: "environment without '='", spec: application { $0.environment = ["PATH"] }, mentions: "KEY=value"),
        Refusal(label: "relative working directory", spec: application { $0.workingDirectory = "tmp" }, mentions: "not an absolute path"),
        Refusal(label: "'..' in the working directory", spec: application { $0.workingDirectory = "/tmp/../etc" }, mentions: "'..'"),
        Refusal(label: "working directory in /proc", spec: application { $0.workingDirectory = "/proc/self/fd" }, mentions: "/proc"),
        Refusal(label: "hostname with markup", spec: application { $0.hostname = "<x>" }, mentions: "hostname"),
        Refusal(label: "unknown capability", spec: application { $0.capabilities = ["cap_fly"] }, mentions: "not a Linux capability"),
        Refusal(label: "sys_ptrace without a user namespace", spec: application { $0.capabilities = ["CAP_SYS_PTRACE"] }, mentions: "user namespace"),
        Refusal(label: "CPU weight 0", spec: application { $0.limits.cpuWeight = 0 }, mentions: "1-10000"),
        Refusal(label: "CPU cap above the host", spec: application { $0.limits.cpuMax = 64 }, mentions: "exceeds the host"),
        Refusal(label: "memory limit of one byte", spec: application { $0.limits.memoryMax = 1 }, mentions: "below 4 MiB"),
        Refusal(label: "soft limit above hard limit", spec: application { $0.limits.memoryHigh = 64 << 20; $0.limits.memoryMax = 32 << 20 },
                mentions: "above the memory limit"),
        Refusal(label: "pids.max 1", spec: application { $0.limits.pidsMax = 1 }, mentions: "2-4194304"),
        Refusal(label: "bridge name with a slash", spec: application { $0.network = .bridge(BridgeAttachment(bridge: "br/0", address: "10.0.0.2/24")) },
                mentions: "interface name"),
        Refusal(label: "address without prefix", spec: application { $0.network = .bridge(BridgeAttachment(bridge: "br0", address: "10.0.0.2")) },
                mentions: "CIDR"),
        Refusal(label: "user namespace without root", spec: application {
            $0.userNamespace = UserNamespaceMapping(uids: [.init(inside: 1, outside: 100000, count: 10)],
                                                    gids: [.init(inside: 0, outside: 100000, count: 10)]) }, mentions: "maps no uid 0"),
        Refusal(label: "bind source /", spec: application { $0.mounts = [WorkloadMount(source: "/", target: "/mnt")] }, mentions: "host's root"),
        Refusal(label: "bind source /proc", spec: application { $0.mounts = [WorkloadMount(source: "/proc", target: "/mnt")] }, mentions: "/proc"),
        Refusal(label: "bind source in /sys", spec: application { $0.mounts = [WorkloadMount(source: "/sys/kernel", target: "/mnt")] }, mentions: "/sys"),
        Refusal(label: "bind source /dev", spec: application { $0.mounts = [WorkloadMount(source: "/dev", target: "/mnt")] }, mentions: "/dev"),
        Refusal(label: "bind source /run (holds libvirt's sockets)", spec: application { $0.mounts = [WorkloadMount(source: "/run", target: "/mnt")] },
                mentions: "control sockets"),
        Refusal(label: "bind source /run/libvirt", spec: application { $0.mounts = [WorkloadMount(source: "/run/libvirt", target: "/mnt")] },
                mentions: "never bound"),
        Refusal(label: "bind source /var/run/libvirt", spec: application { $0.mounts = [WorkloadMount(source: "/var/run/libvirt", target: "/mnt")] },
                mentions: "libvirt"),
        Refusal(label: "missing bind source", spec: application { $0.mounts = [WorkloadMount(source: "/nonexistent-ptest", target: "/mnt")] },
                mentions: "does not exist"),
        Refusal(label: "bind target /", spec: application { $0.mounts = [WorkloadMount(source: "/etc", target: "/")] }, mentions: "cannot be '/'"),
        Refusal(label: "bind target in /proc", spec: application { $0.mounts = [WorkloadMount(source: "/etc", target: "/proc/sys")] },
                mentions: "partctl sets up itself"),
        Refusal(label: "bind target with '..'", spec: application { $0.mounts = [WorkloadMount(source: "/etc", target: "/mnt/../etc")] },
                mentions: "'..'"),
        // An application WPAR's own root (an OCI image's) is checked as a system WPAR's is.
        Refusal(label: "application root /", spec: application { $0.root = .directory(path: "/") }, mentions: "host's root"),
        Refusal(label: "application root missing", spec: application { $0.root = .directory(path: "/nonexistent-ptest") },
                mentions: "does not exist"),
        Refusal(label: "application WPAR with shared paths", spec: application { $0.sharedPaths = ["/usr"] }, mentions: "shared paths are for system"),
        Refusal(label: "system WPAR without root", spec: application { $0.kind = .system }, mentions: "needs a root"),
        Refusal(label: "system root /", spec: application { $0.kind = .system; $0.root = .directory(path: "/") }, mentions: "host's root"),
        Refusal(label: "system root missing", spec: application { $0.kind = .system; $0.root = .directory(path: "/nonexistent-ptest") },
                mentions: "does not exist"),
        Refusal(label: "overlay without lower", spec: application { $0.kind = .system; $0.root = .overlay(lower: [], upper: nil) },
                mentions: "at least one lower"),
    ]

    @Test(arguments: refusals)
    func refuses(_ refusal: Refusal) {
        #expect {
            _ = try SpawnPlan(spec: refusal.spec, host: Self.host)
        } throws: { error in
            guard let error = error as? PartitionError else { return false }
            let named = error.message.contains(refusal.mentions)
            if !named { print("message for \(refusal.label): \(error.message)") }
            return named
        }
    }

    /// A rootfs whose /proc, /dev or /sys is a symlink (or missing) is refused before anything runs.
    @Test(arguments: ["proc", "dev", "sys"])
    func refusesRootWithSymlinkedKernelDirectory(_ directory: String) throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        rmdir(root + "/" + directory)
        symlink("/", root + "/" + directory)
        let spec = WorkloadSpec(name: try PartitionName("ptest-symlinked"), kind: .system, root: .directory(path: root), command: ["/sbin/init"])
        #expect(throws: PartitionError.self) { try sandbox.engine.define(spec.name, spec: spec) }
        #expect(Self.refusal(of: spec).contains("/\(directory) in the WPAR root"))
        #expect(Self.refusal(of: spec).contains("symlink"))
        unlink(root + "/" + directory)
        #expect(Self.refusal(of: spec).contains("has no /\(directory) directory"))
        #expect(sandbox.engine.definedNames().isEmpty)
    }

    /// The message a refused spec gets, or "" (and an issue) when it is not refused.
    static func refusal(of spec: WorkloadSpec) -> String {
        do {
            _ = try SpawnPlan(spec: spec, host: host)
            Issue.record("the spec was accepted")
            return ""
        } catch {
            return error.message
        }
    }

    @Test func refusesRootThroughSymlink() throws {
        let sandbox = try EngineSandbox()
        let root = try sandbox.busyboxRoot()
        symlink(root, sandbox.base + "/link")
        let spec = WorkloadSpec(name: try PartitionName("ptest-link"), kind: .system, root: .directory(path: sandbox.base + "/link"),
                                command: ["/sbin/init"])
        #expect {
            _ = try SpawnPlan(spec: spec, host: Self.host)
        } throws: { ($0 as? PartitionError)?.message.contains("goes through a symlink") == true }
    }

    /// A refused definition creates nothing: no definition directory, no cgroup, no runtime state.
    @Test func refusedDefinitionCreatesNothing() throws {
        let sandbox = try EngineSandbox()
        let spec = Self.application { $0.mounts = [WorkloadMount(source: "/run/libvirt", target: "/mnt")] }
        #expect(throws: PartitionError.self) { try sandbox.engine.define(spec.name, spec: spec) }
        #expect(HostSystem.fileType(sandbox.paths.definitions + "/wpars/ptest-plan") == nil)
        #expect(HostSystem.fileType(sandbox.paths.runtimeDirectory(for: spec.name)) == nil)
        #expect(EngineSandbox.cgroupDirectories(named: "ptest-plan").isEmpty)
    }

    @Test func applicationPlanShape() throws {
        let plan = try SpawnPlan(spec: Self.application { _ in }, host: Self.host)
        #expect(plan.namespaces == .workload)
        guard case .rootTree(let source, let attributes) = plan.steps.first?.operation else {
            Issue.record("the plan does not start with its root")
            return
        }
        #expect(source == "/" && attributes.contains(.readOnly))
        let targets = plan.steps.compactMap { step -> String? in
            if case .filesystem(_, let target, _, _) = step.operation { return target }
            return nil
        }
        #expect(targets == ["/tmp", "/run", "/proc", "/dev", "/dev/pts", "/dev/shm", "/sys", "/sys/fs/cgroup"])
        let masked = plan.steps.compactMap { step -> String? in
            if case .mask(let target) = step.operation { return target }
            return nil
        }
        #expect(masked == SpawnPlan.maskedPaths)
        #expect(plan.process.keyring == "_ses.ptest-plan")
    }
}
