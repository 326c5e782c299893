import Glibc
import Testing
import PartitionModel
@testable import WorkloadEngine
import SystemKit

/// The cgroup2 writer against a fake cgroup2 tree: a directory with the interface files a v2 cgroup
/// has (this host's own cgroup2 mount has no controllers, so cpu.max and the rest exist nowhere here).
/// cgroupfs makes a new cgroup's files on mkdir; a plain directory cannot, so the fake tree already
/// holds the WPAR's directory, as a leftover from a killed command would be, and create() reuses it.
@Suite("cgroup v2 writer")
struct CgroupV2WriterTests {
    final class FakeTree {
        let root: String
        let wpar: String

        init(name: String, subtreeControl: String = "") throws {
            root = "/tmp/ptest-cgroup2-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            wpar = "\(root)/partctl/\(name)"
            for directory in [root, "\(root)/partctl", wpar] { #expect(mkdir(directory, 0o755) == 0) }
            try put(root, "cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n")
            try put(root, "cgroup.subtree_control", subtreeControl)
            try put("\(root)/partctl", "cgroup.controllers", subtreeControl)
            try put("\(root)/partctl", "cgroup.subtree_control", subtreeControl)
            let files = [
                "cgroup.procs": "", "cgroup.events": "populated 0\nfrozen 0\n", "cgroup.freeze": "0",
                "cpu.weight": "100\n", "cpu.max": "max 100000\n", "memory.high": "max\n", "memory.max": "max\n",
                "pids.max": "max\n", "cpu.stat": "usage_usec 1234\nuser_usec 1000\nsystem_usec 234\n",
                "memory.current": "4096\n", "memory.peak": "8192\n", "pids.current": "3\n",
            ]
            for (file, contents) in files { try put(wpar, file, contents) }
        }

        func put(_ directory: String, _ file: String, _ contents: String) throws {
            try AtomicFile.write(Array(contents.utf8), to: "\(directory)/\(file)", mode: 0o644, durable: false)
        }

        func read(_ path: String) -> String? { SystemCall.readText(path) }

        var layout: CgroupLayout {
            get throws {
                try CgroupLayout(mountinfo: "26 21 0:23 / \(root) rw shared:4 - cgroup2 cgroup2 rw,nsdelegate",
                                 unifiedControllers: ["cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc"])
            }
        }

        deinit { _ = try? TestChild.run(["rm", "-rf", root]) }
    }

    static let limits = WorkloadLimits(cpuWeight: 250, cpuMax: 0.5, memoryHigh: 96 << 20, memoryMax: 128 << 20, pidsMax: 64)

    @Test("create writes every limit and enables the controllers down to the parent")
    func createWritesLimits() throws {
        let tree = try FakeTree(name: "ptest-v2")
        let cgroup = try WorkloadCgroup.create(layout: tree.layout, name: "ptest-v2", limits: Self.limits)
        #expect(tree.read("\(tree.wpar)/cpu.weight") == "250")
        #expect(tree.read("\(tree.wpar)/cpu.max") == "50000 100000")
        #expect(tree.read("\(tree.wpar)/memory.high") == "100663296")
        #expect(tree.read("\(tree.wpar)/memory.max") == "134217728")
        #expect(tree.read("\(tree.wpar)/pids.max") == "64")
        #expect(tree.read("\(tree.root)/cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(tree.read("\(tree.root)/partctl/cgroup.subtree_control") == "+cpu +memory +pids")
        #expect(cgroup.v2Directory == tree.wpar)
        #expect(cgroup.directories == [tree.wpar])
        #expect(WorkloadCgroup.listExisting(layout: try tree.layout) == ["ptest-v2"])
    }

    @Test("controllers already enabled are not written again")
    func enabledControllersLeftAlone() throws {
        let tree = try FakeTree(name: "ptest-v2", subtreeControl: "cpu memory pids\n")
        _ = try WorkloadCgroup.create(layout: tree.layout, name: "ptest-v2", limits: WorkloadLimits())
        #expect(tree.read("\(tree.root)/cgroup.subtree_control") == "cpu memory pids\n")
        #expect(tree.read("\(tree.root)/partctl/cgroup.subtree_control") == "cpu memory pids\n")
        // No limits asked for and the cgroup is reused: every limit is reset to unlimited.
        #expect(tree.read("\(tree.wpar)/cpu.max") == "max 100000")
        #expect(tree.read("\(tree.wpar)/memory.max") == "max")
    }

    @Test("attach writes the PID, apply resets what is no longer limited, usage reads every counter")
    func attachApplyUsage() throws {
        let tree = try FakeTree(name: "ptest-v2")
        let cgroup = try WorkloadCgroup.create(layout: tree.layout, name: "ptest-v2", limits: Self.limits)
        try cgroup.attach(pid: 4242)
        #expect(tree.read("\(tree.wpar)/cgroup.procs") == "4242")

        try cgroup.apply(WorkloadLimits(memoryMax: 256 << 20))
        #expect(tree.read("\(tree.wpar)/cpu.weight") == "100")
        #expect(tree.read("\(tree.wpar)/cpu.max") == "max 100000")
        #expect(tree.read("\(tree.wpar)/memory.high") == "max")
        #expect(tree.read("\(tree.wpar)/memory.max") == "268435456")
        #expect(tree.read("\(tree.wpar)/pids.max") == "max")

        let usage = try cgroup.usage()
        #expect(usage == WorkloadUsage(cpuNanoseconds: 1_234_000, memoryCurrent: 4096, memoryPeak: 8192, pidsCurrent: 3))
    }

    @Test("a leftover cgroup that still has processes is not taken over")
    func busyLeftoverRefused() throws {
        let tree = try FakeTree(name: "ptest-v2")
        try tree.put(tree.wpar, "cgroup.procs", "777\n")
        let error = #expect(throws: PartitionError.self) {
            try WorkloadCgroup.create(layout: tree.layout, name: "ptest-v2", limits: Self.limits)
        }
        #expect(error?.code == .alreadyExists)
        #expect(tree.read("\(tree.wpar)/cpu.max") == "max 100000\n")
    }

    @Test("a limit whose controller cgroup2 does not offer is refused before anything is made")
    func missingControllerRefused() throws {
        let tree = try FakeTree(name: "ptest-v2")
        let layout = try CgroupLayout(mountinfo: "26 21 0:23 / \(tree.root) rw - cgroup2 cgroup2 rw", unifiedControllers: ["cpu"])
        let error = #expect(throws: PartitionError.self) {
            try WorkloadCgroup.create(layout: layout, name: "ptest-v2", limits: WorkloadLimits(memoryMax: 64 << 20))
        }
        #expect(error?.code == .unsupported)
        #expect(error?.message == "A memory limit needs the memory cgroup controller, which this system does not offer.")
        #expect(tree.read("\(tree.root)/cgroup.subtree_control") == "")
    }
}

@Suite("cgroup limit translation")
struct CgroupLimitTranslationTests {
    @Test("v2 and v1 files for each limit",
          arguments: [
            (WorkloadLimits(cpuWeight: 100), CgroupController.cpu,
             ["cpu.weight=100"], ["cpu.shares=1024"]),
            (WorkloadLimits(cpuWeight: 1), .cpu, ["cpu.weight=1"], ["cpu.shares=10"]),
            (WorkloadLimits(cpuWeight: 10_000), .cpu, ["cpu.weight=10000"], ["cpu.shares=102400"]),
            (WorkloadLimits(cpuMax: 0.5), .cpu, ["cpu.max=50000 100000"], ["cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000"]),
            (WorkloadLimits(cpuMax: 2.25), .cpu, ["cpu.max=225000 100000"], ["cpu.cfs_period_us=100000", "cpu.cfs_quota_us=225000"]),
            (WorkloadLimits(memoryHigh: 1 << 30, memoryMax: 2 << 30), .memory,
             ["memory.high=1073741824", "memory.max=2147483648"],
             ["memory.soft_limit_in_bytes=1073741824", "memory.limit_in_bytes=2147483648"]),
            (WorkloadLimits(pidsMax: 100), .pids, ["pids.max=100"], ["pids.max=100"]),
            (WorkloadLimits(), .cpu, [], []),
          ])
    func files(limits: WorkloadLimits, controller: CgroupController, v2: [String], v1: [String]) {
        func render(_ writes: [CgroupFileWrite]) -> [String] { writes.map { "\($0.file)=\($0.value)" } }
        #expect(render(CgroupLimitFiles.writes(for: controller, version: .v2, limits: limits, resetUnset: false)) == v2)
        #expect(render(CgroupLimitFiles.writes(for: controller, version: .v1, limits: limits, resetUnset: false)) == v1)
    }

    @Test("a reset writes 'unlimited' for every unset limit")
    func reset() {
        let v1 = CgroupLimitFiles.writes(for: .cpu, version: .v1, limits: WorkloadLimits(), resetUnset: true)
        #expect(v1.map(\.value) == ["1024", "100000", "-1"])
        let v2 = CgroupLimitFiles.writes(for: .memory, version: .v2, limits: WorkloadLimits(), resetUnset: true)
        #expect(v2.map(\.value) == ["max", "max"])
    }

    @Test("impossible limits are refused with a clear sentence",
          arguments: [
            (WorkloadLimits(cpuWeight: 0), "The CPU weight 0 is out of range; it must be between 1 and 10000."),
            (WorkloadLimits(cpuWeight: 10_001), "The CPU weight 10001 is out of range; it must be between 1 and 10000."),
            (WorkloadLimits(cpuMax: 0), "The CPU cap of 0.0 CPUs is out of range; it must be between 0.01 and 4096 CPUs."),
            (WorkloadLimits(cpuMax: .nan), "The CPU cap of nan CPUs is out of range; it must be between 0.01 and 4096 CPUs."),
            (WorkloadLimits(memoryMax: 4096), "The memory max limit of 4096 bytes is too small; it must be at least 1 MiB."),
            (WorkloadLimits(memoryHigh: 256 << 20, memoryMax: 128 << 20),
             "The memory high limit (268435456 bytes) is above the memory max limit (134217728 bytes); the soft limit must not exceed the hard one."),
            (WorkloadLimits(pidsMax: 0), "The process limit 0 is out of range; it must be between 1 and 4194304."),
          ])
    func refused(limits: WorkloadLimits, message: String) {
        let error = #expect(throws: PartitionError.self) { try CgroupLimitFiles.check(limits) }
        #expect(error?.code == .outOfRange)
        #expect(error?.message == message)
    }
}
