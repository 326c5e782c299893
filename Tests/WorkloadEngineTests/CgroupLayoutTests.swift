import Testing
import PartitionModel
@testable import WorkloadEngine

@Suite("cgroup layout detection")
struct CgroupLayoutTests {
    /// This machine: v1 controllers, a cgroup2 mount with none (but hugetlb) at /sys/fs/cgroup/unified.
    static let hybrid = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
        37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
        38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """

    /// A modern systemd host or a guest: one cgroup2 mount.
    static let pureV2 = """
        22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
        26 21 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
        """

    /// An older distribution: combined cpu,cpuacct and net_cls,net_prio hierarchies, no cgroup2.
    static let pureV1 = """
        25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:7 - tmpfs tmpfs ro,mode=755
        26 25 0:23 / /sys/fs/cgroup/systemd rw,nosuid,nodev,noexec,relatime shared:8 - cgroup cgroup rw,xattr,name=systemd
        29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid,nodev,noexec,relatime shared:10 - cgroup cgroup rw,cpu,cpuacct
        30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,net_cls,net_prio
        31 25 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:12 - cgroup cgroup rw,memory
        32 25 0:29 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:13 - cgroup cgroup rw,pids
        33 25 0:30 / /sys/fs/cgroup/freezer rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,freezer
        34 25 0:31 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,devices
        """

    private static func hierarchy(_ layout: CgroupLayout, _ mountPoint: String) -> CgroupHierarchy? {
        layout.workloadHierarchies.first { $0.mountPoint == mountPoint }
    }

    @Test("hybrid: limits in v1, a cgroup2 cgroup beside them for the namespace and cgroup.kill")
    func hybrid() throws {
        let layout = try CgroupLayout(mountinfo: Self.hybrid, unifiedControllers: ["hugetlb"])
        #expect(layout.kind == .hybrid)
        #expect(layout.unifiedMountPoint == "/sys/fs/cgroup/unified")
        let hierarchies = layout.workloadHierarchies
        #expect(hierarchies.map(\.mountPoint) == ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                                                  "/sys/fs/cgroup/devices", "/sys/fs/cgroup/unified"])
        #expect(hierarchies.dropLast().allSatisfy { $0.version == .v1 && $0.controllers.count == 1 })
        // CPU time and freezing come from cgroup2's core files: no v1 cpuacct or freezer directory.
        #expect(hierarchies.last?.version == .v2 && hierarchies.last?.controllers == [.cpuacct, .freezer])
        // cpuset, blkio and the named systemd hierarchy are not touched.
        #expect(!hierarchies.contains { $0.mountPoint.hasSuffix("cpuset") || $0.mountPoint.hasSuffix("systemd") })
    }

    @Test("pure v2: one hierarchy serving every controller cgroup2 offers")
    func pureV2() throws {
        let layout = try CgroupLayout(mountinfo: Self.pureV2, unifiedControllers: ["cpuset", "cpu", "io", "memory", "pids"])
        #expect(layout.kind == .v2)
        let hierarchies = layout.workloadHierarchies
        #expect(hierarchies.count == 1)
        #expect(hierarchies[0].mountPoint == "/sys/fs/cgroup" && hierarchies[0].version == .v2)
        #expect(hierarchies[0].controllers == [.cpu, .cpuacct, .memory, .pids, .freezer])
    }

    @Test("pure v2 without controllers: accounting and freezing still work, limits do not")
    func pureV2WithoutControllers() throws {
        let layout = try CgroupLayout(mountinfo: Self.pureV2, unifiedControllers: [])
        #expect(layout.workloadHierarchies.first?.controllers == [.cpuacct, .freezer])
    }

    @Test("pure v1: a combined cpu,cpuacct hierarchy is one directory")
    func pureV1() throws {
        let layout = try CgroupLayout(mountinfo: Self.pureV1)
        #expect(layout.kind == .v1)
        #expect(layout.unifiedMountPoint == nil)
        let cpu = try #require(Self.hierarchy(layout, "/sys/fs/cgroup/cpu,cpuacct"))
        #expect(cpu.controllers == [.cpu, .cpuacct])
        #expect(Self.hierarchy(layout, "/sys/fs/cgroup/freezer")?.controllers == [.freezer])
        #expect(layout.workloadHierarchies.count == 5)
        #expect(Self.hierarchy(layout, "/sys/fs/cgroup/net_cls,net_prio") == nil)
    }

    @Test("escaped mount points are unescaped")
    func escapedMountPoint() throws {
        let layout = try CgroupLayout(mountinfo: "26 21 0:23 / /mnt/my\\040cgroups rw shared:4 - cgroup2 cgroup2 rw")
        #expect(layout.unifiedMountPoint == "/mnt/my cgroups")
    }

    @Test("no cgroup mount at all is refused with a clear message")
    func noCgroups() throws {
        let error = #expect(throws: PartitionError.self) {
            try CgroupLayout(mountinfo: "22 1 0:21 / /proc rw - proc proc rw")
        }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("cgroup2") == true)
    }

    @Test("this machine's layout is detected and its directories exist")
    func detectsThisMachine() throws {
        let layout = try CgroupLayout.detect()
        #expect(!layout.workloadHierarchies.isEmpty)
        for hierarchy in layout.workloadHierarchies {
            #expect(WorkloadCgroup.isDirectory(hierarchy.mountPoint), "\(hierarchy.mountPoint)")
        }
        // Whatever the layout, the memory and pids controllers are found somewhere on a Debian kernel.
        #expect(layout.workloadHierarchies.contains { $0.controllers.contains(.memory) })
        #expect(layout.workloadHierarchies.contains { $0.controllers.contains(.pids) })
    }
}
