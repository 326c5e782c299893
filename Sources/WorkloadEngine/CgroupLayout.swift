import Glibc
import PartitionModel
import Synchronization

/// The controllers partctl uses for a WPAR: those its limits need, plus those needed to account for
/// it, to freeze and kill it, and to confine its devices.
public enum CgroupController: String, CaseIterable, Sendable, Codable {
    case cpu, cpuacct, memory, pids, freezer, devices

    /// In cgroup v2, CPU accounting (cpu.stat) and the freezer (cgroup.freeze) are core files of every
    /// cgroup, and the device policy needs eBPF; only these are controllers to enable.
    var isV2Controller: Bool { self == .cpu || self == .memory || self == .pids }
    var isV2Core: Bool { self == .cpuacct || self == .freezer }
}

/// Where the cgroup hierarchies are mounted on this machine, detected from /proc/self/mountinfo:
/// pure v2 (one cgroup2 mount), hybrid (v1 controllers plus a cgroup2 mount beside them, as on the CI
/// machine), or pure v1.
public struct CgroupLayout: Sendable, Hashable {
    public enum Kind: String, Sendable, Codable {
        case v2, hybrid, v1
    }

    /// One v1 hierarchy: its mount point and the controllers bound to it (e.g. "cpu", "cpuacct").
    public struct V1Hierarchy: Sendable, Hashable {
        public var mountPoint: String
        public var controllers: Set<String>
    }

    public let kind: Kind
    /// v1 hierarchies with at least one controller, in mountinfo order (named ones such as
    /// name=systemd carry no controller and are left out).
    public let v1Hierarchies: [V1Hierarchy]
    /// The cgroup2 mount, if any.
    public let unifiedMountPoint: String?
    /// The controllers the cgroup2 hierarchy offers (its root's cgroup.controllers).
    public let unifiedControllers: Set<String>

    /// The layout of this machine, read afresh.
    public static func detect() throws(PartitionError) -> CgroupLayout {
        try layout(of: readMounts())
    }

    /// The layout of this machine; the mount table is parsed again only once it has changed (see
    /// MountTableWatch): a long-lived engine (partagent) asks on every command, and parsing
    /// mountinfo is a good part of a login under TCG. The cgroup2 root's controllers are read every
    /// time: a controller goes back to cgroup2 only some time after its v1 hierarchy is unmounted.
    public static func current() throws(PartitionError) -> CgroupLayout {
        let mounts = try parsedMounts.withLock { (cached) throws(PartitionError) -> Mounts in
            if let cached, !cached.watch.changed() { return cached.mounts }
            cached = nil
            // Opened before the read: a change while it is read shows up at the next call.
            let watch = MountTableWatch()
            let mounts = try readMounts()
            if let watch { cached = (watch, mounts) }
            return mounts
        }
        return try layout(of: mounts)
    }

    typealias Mounts = (v1: [V1Hierarchy], unified: String?)
    private static let parsedMounts = Mutex<(watch: MountTableWatch, mounts: Mounts)?>(nil)

    private static func readMounts() throws(PartitionError) -> Mounts {
        guard let mountinfo = SystemCall.readText("/proc/self/mountinfo", limit: 1 << 22) else {
            throw SystemCall.failure("read /proc/self/mountinfo")
        }
        return parseMounts(mountinfo)
    }

    private static func layout(of mounts: Mounts) throws(PartitionError) -> CgroupLayout {
        var controllers: Set<String> = []
        if let unified = mounts.unified, let text = SystemCall.readText("\(unified)/cgroup.controllers") {
            controllers = Set(text.split(whereSeparator: \.isWhitespace).map(String.init))
        }
        return try CgroupLayout(v1Hierarchies: mounts.v1, unifiedMountPoint: mounts.unified, unifiedControllers: controllers)
    }

    /// The layout a mountinfo text describes, for tests of each layout; `unifiedControllers` stands
    /// for the cgroup.controllers file of the cgroup2 mount.
    public init(mountinfo: String, unifiedControllers: Set<String> = []) throws(PartitionError) {
        let mounts = Self.parseMounts(mountinfo)
        try self.init(v1Hierarchies: mounts.v1, unifiedMountPoint: mounts.unified, unifiedControllers: unifiedControllers)
    }

    private init(v1Hierarchies: [V1Hierarchy], unifiedMountPoint: String?, unifiedControllers: Set<String>) throws(PartitionError) {
        switch (v1Hierarchies.isEmpty, unifiedMountPoint) {
        case (true, nil):
            throw PartitionError(.unsupported, "No cgroup file system is mounted; mount cgroup2 on /sys/fs/cgroup so that partctl can confine workload partitions.")
        case (true, _?): kind = .v2
        case (false, _?): kind = .hybrid
        case (false, nil): kind = .v1
        }
        self.v1Hierarchies = v1Hierarchies
        self.unifiedMountPoint = unifiedMountPoint
        self.unifiedControllers = kind == .v2 || kind == .hybrid ? unifiedControllers : []
    }

    /// The hierarchies a WPAR's cgroup lives in and which of partctl's controllers each one serves.
    /// The cgroup2 hierarchy is always included where mounted: in the hybrid case it gives the WPAR a
    /// cgroup2 cgroup of its own, for the cgroup namespace, cgroup.kill, and the two core features
    /// every cgroup2 cgroup has (CPU time in cpu.stat, the freezer), which then need no v1 hierarchy:
    /// fewer directories to make, join and remove on every activation, and the v2 freezer, which
    /// does not hold back signals the way the v1 freezer does. Every other controller is taken from
    /// its v1 hierarchy where it has one, else from cgroup2 when cgroup2 offers it.
    var workloadHierarchies: [CgroupHierarchy] {
        var result: [CgroupHierarchy] = []
        var unified: Set<CgroupController> = []
        for controller in CgroupController.allCases {
            if controller.isV2Core && unifiedMountPoint != nil {
                unified.insert(controller)
            } else if let hierarchy = v1Hierarchies.first(where: { $0.controllers.contains(controller.rawValue) }) {
                if let index = result.firstIndex(where: { $0.mountPoint == hierarchy.mountPoint }) {
                    result[index].controllers.insert(controller)
                } else {
                    result.append(CgroupHierarchy(version: .v1, mountPoint: hierarchy.mountPoint, controllers: [controller]))
                }
            } else if unifiedMountPoint != nil
                        && (controller.isV2Core || (controller.isV2Controller && unifiedControllers.contains(controller.rawValue))) {
                unified.insert(controller)
            }
        }
        if let unifiedMountPoint {
            result.append(CgroupHierarchy(version: .v2, mountPoint: unifiedMountPoint, controllers: unified))
        }
        return result
    }

    /// The v1 controllers the kernel knows; mount options and names (name=systemd) are not controllers.
    static let v1ControllerNames: Set<String> = Set(CgroupController.allCases.map(\.rawValue))
        .union(["cpuset", "blkio", "net_cls", "net_prio", "hugetlb", "perf_event", "rdma", "misc"])

    /// Every cgroup mount of a mountinfo text: the v1 hierarchies with controllers, and the first cgroup2 mount.
    static func parseMounts(_ mountinfo: String) -> Mounts {
        var v1: [V1Hierarchy] = []
        var unified: String?
        for line in mountinfo.split(separator: "\n") {
            // "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS"
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 9, let dash = fields[6...].firstIndex(of: "-"), dash + 3 < fields.count else { continue }
            let fsType = fields[dash + 1]
            let mountPoint = unescape(fields[4])
            switch fsType {
            case "cgroup2":
                if unified == nil { unified = mountPoint }
            case "cgroup":
                let controllers = Set(fields[dash + 3].split(separator: ",").map(String.init)).intersection(v1ControllerNames)
                guard !controllers.isEmpty, !v1.contains(where: { !$0.controllers.isDisjoint(with: controllers) }) else { continue }
                v1.append(V1Hierarchy(mountPoint: mountPoint, controllers: controllers))
            default:
                continue
            }
        }
        return (v1, unified)
    }

    /// mountinfo escapes space, tab, newline and backslash as \040, \011, \012 and \134.
    private static func unescape(_ field: Substring) -> String {
        guard field.utf8.contains(UInt8(ascii: "\\")) else { return String(field) }
        var bytes: [UInt8] = []
        var input = Array(field.utf8)[...]
        while let byte = input.popFirst() {
            if byte == UInt8(ascii: "\\"), input.count >= 3,
               let value = UInt8(String(decoding: input.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                input = input.dropFirst(3)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One hierarchy a WPAR's cgroup is made in, with the controllers partctl uses through it.
struct CgroupHierarchy: Sendable, Hashable {
    enum Version: Sendable, Hashable { case v1, v2 }
    var version: Version
    var mountPoint: String
    var controllers: Set<CgroupController>
}
