import Glibc
import PartitionModel

/// The cgroup of one WPAR: `<parent>/<name>` (parent `partctl` by default) in every hierarchy that
/// serves one of partctl's controllers, plus the cgroup2 hierarchy where one is mounted.
///
/// Everything here is plain mkdir/open/write/close on cgroupfs: creating, attaching and removing a
/// WPAR's cgroup is on the path of every `partctl run`, which must beat crun.
public final class WorkloadCgroup: Sendable {
    public static let defaultParent = "partctl"

    public let name: String
    /// The parent cgroup, relative to each hierarchy's mount point ("partctl", or "a/b").
    public let parent: String
    public let layout: CgroupLayout
    let hierarchies: [CgroupHierarchy]

    private init(layout: CgroupLayout, name: String, parent: String) {
        self.layout = layout
        self.name = name
        self.parent = parent
        self.hierarchies = layout.workloadHierarchies
    }

    /// Makes the cgroup (and the parent where missing) and puts `limits` into effect. A leftover
    /// cgroup of the same name without processes (from a command that was killed) is reused and
    /// all its limits rewritten; one with processes is refused. On failure nothing made is left.
    public static func create(layout: CgroupLayout, name: String, limits: WorkloadLimits,
                              parent: String = defaultParent) throws(PartitionError) -> WorkloadCgroup {
        try checkNames(name: name, parent: parent)
        try CgroupLimitFiles.check(limits)
        let cgroup = WorkloadCgroup(layout: layout, name: name, parent: parent)
        try cgroup.requireControllers(for: limits)
        var madeDirectories: [String] = []
        do throws(PartitionError) {
            var reused = false
            for hierarchy in cgroup.hierarchies {
                if hierarchy.version == .v2 { try cgroup.prepareParent(in: hierarchy) }
                let directory = cgroup.directory(in: hierarchy)
                var made = mkdir(directory, 0o755) == 0
                if !made && errno == ENOENT {  // the first WPAR in this hierarchy: make the parent
                    try cgroup.prepareParent(in: hierarchy)
                    made = mkdir(directory, 0o755) == 0
                }
                if made {
                    madeDirectories.append(directory)
                    continue
                }
                guard errno == EEXIST else { throw SystemCall.failure("create the cgroup \(directory)") }
                if !processes(in: directory).isEmpty {
                    throw PartitionError(.alreadyExists, "The cgroup \(directory) already exists and has processes; another WPAR named \(name) is running.")
                }
                reused = true
            }
            try cgroup.write(limits, resetUnset: reused)
            try cgroup.applyDevicePolicy()
        } catch {
            for directory in madeDirectories.reversed() { rmdir(directory) }
            throw error
        }
        return cgroup
    }

    /// The WPAR's cgroup if it exists in at least one hierarchy (a half-made one included, so that
    /// repair can remove it), else nil.
    public static func open(layout: CgroupLayout, name: String,
                            parent: String = defaultParent) throws(PartitionError) -> WorkloadCgroup? {
        try checkNames(name: name, parent: parent)
        let cgroup = WorkloadCgroup(layout: layout, name: name, parent: parent)
        return cgroup.directories.contains(where: isDirectory) ? cgroup : nil
    }

    /// The names of the WPAR cgroups under `parent` in any hierarchy, for crash repair.
    public static func listExisting(layout: CgroupLayout, parent: String = defaultParent) -> [String] {
        var names: Set<String> = []
        for hierarchy in layout.workloadHierarchies {
            names.formUnion(SystemCall.subdirectories(of: "\(hierarchy.mountPoint)/\(parent)"))
        }
        return names.sorted()
    }

    /// Every directory of this cgroup, one per hierarchy.
    public var directories: [String] { hierarchies.map(directory(in:)) }

    /// The cgroup2 directory, usable with clone3(CLONE_INTO_CGROUP), on pure v2 only: in the hybrid
    /// case the limits live in v1 and the child must be attached to each hierarchy anyway.
    public var v2Directory: String? { layout.kind == .v2 ? unifiedDirectory : nil }

    /// The cgroup2 directory wherever cgroup2 is mounted (pure v2 and hybrid).
    public var unifiedDirectory: String? {
        hierarchies.first { $0.version == .v2 }.map(directory(in:))
    }

    /// Moves `pid` into this cgroup in every hierarchy. The parent calls it for its paused child
    /// before the child execs, so that nothing the WPAR runs ever escapes the limits. A child that
    /// clone3 already put into the cgroup2 directory (CLONE_INTO_CGROUP, `inUnified`) is only moved
    /// in the v1 hierarchies: writing cgroup.procs migrates a process even to the cgroup it is in,
    /// which costs the most of a join under TCG.
    public func attach(pid: pid_t, inUnified: Bool = false) throws(PartitionError) {
        for hierarchy in hierarchies where !(inUnified && hierarchy.version == .v2) {
            let file = "\(directory(in: hierarchy))/cgroup.procs"
            if let cause = SystemCall.writeText(String(pid), to: file) {
                if cause == .noSuchProcess {
                    throw PartitionError(.system, "The process \(pid) exited before it could be put into the cgroup of \(name).")
                }
                throw SystemCall.failure("move process \(pid) into \(file)", errno: cause.rawValue)
            }
        }
    }

    /// Puts `limits` into effect now, on a running WPAR too. Limits that are nil are set back to
    /// unlimited.
    public func apply(_ limits: WorkloadLimits) throws(PartitionError) {
        try CgroupLimitFiles.check(limits)
        try requireControllers(for: limits)
        try write(limits, resetUnset: true)
    }

    /// The processes in this cgroup, its sub-cgroups included, in any hierarchy.
    public func pids() throws(PartitionError) -> [pid_t] {
        let existing = directories.filter(Self.isDirectory)
        guard !existing.isEmpty else { throw notFound() }
        return Set(existing.flatMap(Self.processes(inTree:))).sorted()
    }

    /// Removes the cgroup from every hierarchy (sub-cgroups first). Missing directories are fine, so
    /// it can be called again and on half-made cgroups. Fails with `.busy` while processes remain.
    public func remove() throws(PartitionError) {
        var firstError: PartitionError?
        for directory in directories {
            do throws(PartitionError) {
                try Self.removeTree(directory)
            } catch {
                firstError = firstError ?? error
            }
        }
        if let firstError { throw firstError }
    }

    // MARK: - Internals shared with the usage and kill extensions

    func directory(in hierarchy: CgroupHierarchy) -> String {
        "\(hierarchy.mountPoint)/\(parent)/\(name)"
    }

    func hierarchy(for controller: CgroupController) -> CgroupHierarchy? {
        hierarchies.first { $0.controllers.contains(controller) }
    }

    func notFound() -> PartitionError {
        PartitionError(.notFound, "The cgroup of \(name) does not exist.")
    }

    static func processes(in directory: String) -> [pid_t] {
        guard let text = SystemCall.readText("\(directory)/cgroup.procs", limit: 1 << 24) else { return [] }
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    static func processes(inTree root: String) -> [pid_t] {
        var result: [pid_t] = []
        var pending = [root]
        while let directory = pending.popLast() {
            result += processes(in: directory)
            pending += SystemCall.subdirectories(of: directory).map { "\(directory)/\($0)" }
        }
        return result
    }

    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
    }

    // MARK: - Creation steps

    private static func checkNames(name: String, parent: String) throws(PartitionError) {
        if let problem = PartitionName.problem(with: name) { throw PartitionError(.invalidArgument, problem) }
        let components = parent.split(separator: "/", omittingEmptySubsequences: false)
        if parent.isEmpty || components.contains(where: { PartitionName.problem(with: String($0)) != nil }) {
            throw PartitionError(.invalidArgument, "The parent cgroup '\(parent)' must be one or more names of lowercase letters, digits, '-' and '_', separated by '/'.")
        }
    }

    private func requireControllers(for limits: WorkloadLimits) throws(PartitionError) {
        for (controller, what) in CgroupLimitFiles.controllers(neededBy: limits) where hierarchy(for: controller) == nil {
            throw PartitionError(.unsupported, "\(what.prefix(1).uppercased() + what.dropFirst()) needs the \(controller.rawValue) cgroup controller, which this system does not offer.")
        }
    }

    /// Makes the parent cgroup where missing; on cgroup2, also enables partctl's controllers for
    /// the children of every level down to it (cgroup.subtree_control), as v2 requires.
    private func prepareParent(in hierarchy: CgroupHierarchy) throws(PartitionError) {
        var levels = [hierarchy.mountPoint]
        for component in parent.split(separator: "/") { levels.append("\(levels.last!)/\(component)") }
        if !Self.isDirectory(levels.last!) {
            for level in levels.dropFirst() where mkdir(level, 0o755) != 0 && errno != EEXIST {
                throw SystemCall.failure("create the cgroup \(level)")
            }
            if hierarchy.version == .v1 && hierarchy.controllers.contains(.devices) {
                // Best effort: fails harmlessly when another command's WPAR got in first.
                for write in CgroupDevicePolicy.writes where SystemCall.writeText(write.value, to: "\(levels.last!)/\(write.file)") != nil { break }
            }
        }
        guard hierarchy.version == .v2 else { return }
        let wanted = Set(hierarchy.controllers.filter(\.isV2Controller).map(\.rawValue))
        // Usually the parent already has them all: one read, no write.
        guard !wanted.isSubset(of: Self.enabledControllers(in: levels.last!)) else { return }
        for level in levels {
            let missing = wanted.subtracting(Self.enabledControllers(in: level))
            if missing.isEmpty { continue }
            let request = missing.sorted().map { "+\($0)" }.joined(separator: " ")
            if let cause = SystemCall.writeText(request, to: "\(level)/cgroup.subtree_control") {
                throw SystemCall.failure("enable the \(missing.sorted().joined(separator: ", ")) controllers for the children of \(level)", errno: cause.rawValue)
            }
        }
    }

    private static func enabledControllers(in directory: String) -> Set<String> {
        let text = SystemCall.readText("\(directory)/cgroup.subtree_control") ?? ""
        return Set(text.split(whereSeparator: \.isWhitespace).map { String($0.drop { $0 == "+" }) })
    }

    private func write(_ limits: WorkloadLimits, resetUnset: Bool) throws(PartitionError) {
        for hierarchy in hierarchies {
            let directory = directory(in: hierarchy)
            for controller in CgroupController.allCases where hierarchy.controllers.contains(controller) {
                for write in CgroupLimitFiles.writes(for: controller, version: hierarchy.version, limits: limits, resetUnset: resetUnset) {
                    try Self.write(write, in: directory)
                }
            }
        }
    }

    /// A new v1 devices cgroup starts with a copy of its parent's rules, and the policy is written
    /// to the parent when partctl makes it, so each WPAR normally only checks, with one read, that it
    /// inherited the policy. Where it did not (a parent made before, or by someone else: the kernel
    /// refuses to change the rules of a parent that already has children), the WPAR gets them written.
    private func applyDevicePolicy() throws(PartitionError) {
        guard let hierarchy = hierarchy(for: .devices), hierarchy.version == .v1 else { return }
        let directory = directory(in: hierarchy)
        let current = SystemCall.readText("\(directory)/devices.list")?.split(separator: "\n").map(String.init)
        if current == CgroupDevicePolicy.allowed { return }
        for write in CgroupDevicePolicy.writes { try Self.write(write, in: directory) }
    }

    static func write(_ write: CgroupFileWrite, in directory: String) throws(PartitionError) {
        if let cause = SystemCall.writeText(write.value, to: "\(directory)/\(write.file)") {
            throw SystemCall.failure("set \(write.file) to '\(write.value)' in \(directory)", errno: cause.rawValue)
        }
    }

    private static func removeTree(_ directory: String) throws(PartitionError) {
        if rmdir(directory) == 0 || errno == ENOENT { return }
        guard errno == EBUSY || errno == ENOTEMPTY else { throw SystemCall.failure("remove the cgroup \(directory)") }
        for child in SystemCall.subdirectories(of: directory) { try removeTree("\(directory)/\(child)") }
        if rmdir(directory) == 0 || errno == ENOENT { return }
        if errno == EBUSY {
            throw PartitionError(.busy, "The cgroup \(directory) still has processes; they must end before it can be removed.")
        }
        throw SystemCall.failure("remove the cgroup \(directory)")
    }
}
