import Foundation
import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine

/// What a WPAR whose init is systemd gets in its plan (systemd's Container Interface), and that a
/// WPAR whose init is not keeps the strict default.
@Suite struct SystemdPlanTests {
    static func system(systemd: Bool) throws -> WorkloadSpec {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-sdplan-root").path
        for directory in ["proc", "dev", "sys", "run", "tmp"] {
            try FileManager.default.createDirectory(atPath: "\(root)/\(directory)", withIntermediateDirectories: true)
        }
        var spec = WorkloadSpec(name: try PartitionName("ptest-sdplan"), kind: .system, root: .directory(path: root),
                                command: ["/lib/systemd/systemd"], environment: ["PATH=/usr/bin:/bin"])
        spec.systemd = systemd ? true : nil
        return spec
    }

    static func filesystems(_ plan: SpawnPlan) -> [String: SpawnPlan.MountAttributes] {
        var result: [String: SpawnPlan.MountAttributes] = [:]
        for step in plan.steps {
            if case .filesystem(_, let target, _, let attributes) = step.operation { result[target] = attributes }
        }
        return result
    }

    @Test func systemdGetsItsContainerInterface() throws {
        let plan = try SpawnPlan(spec: Self.system(systemd: true), host: SpawnPlanValidationTests.host)
        let mounts = Self.filesystems(plan)
        for target in ["/run", "/run/lock", "/tmp", "/sys/fs/cgroup"] {
            #expect(mounts[target] != nil, "\(target) is not mounted: \(mounts.keys.sorted())")
        }
        // Its own cgroup subtree is writable (the namespace roots it below the limits); /sys stays read-only.
        #expect(mounts["/sys/fs/cgroup"]?.contains(.readOnly) == false)
        #expect(mounts["/sys"]?.contains(.readOnly) == true)
        #expect(plan.process.environment.contains("container=partctl"))
        #expect(plan.process.environment.contains("PATH=/usr/bin:/bin"))
    }

    @Test func otherInitsKeepAReadOnlyCgroupFileSystem() throws {
        let plan = try SpawnPlan(spec: Self.system(systemd: false), host: SpawnPlanValidationTests.host)
        let mounts = Self.filesystems(plan)
        #expect(mounts["/sys/fs/cgroup"]?.contains(.readOnly) == true)
        #expect(mounts["/run/lock"] == nil && mounts["/tmp"] == nil)
        #expect(!plan.process.environment.contains { $0.hasPrefix("container=") })
    }

    @Test func aContainerNameOfTheSpecIsKept() throws {
        var spec = try Self.system(systemd: true)
        spec.environment.append("container=other")
        let plan = try SpawnPlan(spec: spec, host: SpawnPlanValidationTests.host)
        #expect(plan.process.environment.filter { $0.hasPrefix("container=") } == ["container=other"])
    }

    @Test func refusedForApplicationsAndWithoutCgroup2() throws {
        var application = WorkloadSpec(name: try PartitionName("ptest-sdplan"), kind: .application, root: .host, command: ["/bin/true"])
        application.systemd = true
        #expect(SpawnPlanValidationTests.refusal(of: application).contains("Only a system WPAR"))
        var v1Only = SpawnPlanValidationTests.host
        v1Only.hasCgroup2 = false
        #expect(throws: PartitionError.self) { try SpawnPlan(spec: Self.system(systemd: true), host: v1Only) }
    }

    /// Definitions without the key read the same, and `false` is not written (older agents refuse unknown keys).
    @Test func absentWhenFalse() throws {
        let json = String(decoding: try JSONEncoder().encode(Self.system(systemd: false)), as: UTF8.self)
        #expect(!json.contains("\"systemd\":"))
        let withKey = String(decoding: try JSONEncoder().encode(Self.system(systemd: true)), as: UTF8.self)
        #expect(withKey.contains("\"systemd\":true"))
    }
}
