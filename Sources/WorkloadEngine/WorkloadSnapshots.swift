#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import PartitionModel
import SystemKit

/// A snapshot of a WPAR's writable layer (docs/snapshots.md).
public struct WorkloadSnapshot: Codable, Sendable, Hashable {
    public var name: SnapshotName
    /// Seconds since 1970 (UTC).
    public var createdAt: Double
    /// Whether the WPAR was running (and frozen for the copy) when it was taken.
    public var wasRunning: Bool

    public init(name: SnapshotName, createdAt: Double, wasRunning: Bool) {
        self.name = name
        self.createdAt = createdAt
        self.wasRunning = wasRunning
    }
}

/// Snapshots of a system WPAR's writable layer: `<wpars>/<name>/snapshots/<snapshot>/layer` with
/// `info.json` beside it, made in `.partial-<snapshot>` and renamed when complete.
///
/// A running WPAR is frozen (its cgroup) while its layer is copied, so the copy is one moment of
/// it; a revert stops a running WPAR, puts the copy in place of its layer (one atomic exchange of
/// two directories) and starts it again. What a `kill -9` leaves, a journal under the runtime root
/// names, and the next command on the WPAR (each takes its lock and repairs first) thaws the
/// cgroup and removes the partial copy.
extension WorkloadEngine {
    struct SnapshotJournal: Codable {
        var operation: String
        var snapshot: SnapshotName
    }

    func snapshotsDirectory(_ name: PartitionName) -> String { definitions.directory(of: name) + "/snapshots" }
    func snapshotJournal(_ name: PartitionName) -> String { paths.root + "/snapshots/" + name.rawValue + ".json" }

    /// How many snapshots the WPAR has (for `query`); no lock, nothing repaired.
    public func snapshotCount(_ name: PartitionName) -> Int {
        SystemCall.subdirectories(of: snapshotsDirectory(name)).filter { !$0.hasPrefix(".") }.count
    }

    /// The WPAR's snapshots, oldest first.
    public func snapshots(_ name: PartitionName) throws(PartitionError) -> [WorkloadSnapshot] {
        try locked(name, "snapshot list") { () throws(PartitionError) -> [WorkloadSnapshot] in
            guard definitions.exists(name) else { throw PartitionError(.notFound, "The WPAR is not defined.") }
            _ = try repair(name)
            return listSnapshots(name)
        }
    }

    private func listSnapshots(_ name: PartitionName) -> [WorkloadSnapshot] {
        let directory = snapshotsDirectory(name)
        return SystemCall.subdirectories(of: directory).compactMap { (entry) -> WorkloadSnapshot? in
            guard let snapshot = try? SnapshotName(entry),
                  let bytes = try? AtomicFile.read("\(directory)/\(entry)/info.json", limit: 4096),
                  let info = try? JSONDecoder().decode(WorkloadSnapshot.self, from: Data(bytes)), info.name == snapshot else { return nil }
            return info
        }.sorted { ($0.createdAt, $0.name) < ($1.createdAt, $1.name) }
    }

    /// Copies the writable layer as snapshot `snapshot`; a running WPAR is frozen for the copy.
    public func createSnapshot(_ name: PartitionName, _ snapshot: SnapshotName) throws(PartitionError) -> WorkloadSnapshot {
        try locked(name, "snapshot create") { () throws(PartitionError) -> WorkloadSnapshot in
            let spec = try definitions.load(name)
            try Self.checkSnapshotable(spec)
            let record = try repair(name)
            let directory = snapshotsDirectory(name)
            if HostSystem.fileType("\(directory)/\(snapshot)") != nil {
                throw PartitionError(.alreadyExists, "The WPAR already has a snapshot named \(snapshot); remove it first or choose another name.")
            }
            try StateDirectory.ensure(directory, mode: 0o700)
            try writeJournal(name, SnapshotJournal(operation: "create", snapshot: snapshot))
            let cgroup = record == nil ? nil : try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue)
            try cgroup?.freezeAll()
            FaultPoint.reach("snapshot-frozen")
            let info = WorkloadSnapshot(name: snapshot, createdAt: Self.now(), wasRunning: cgroup != nil)
            let partial = ".partial-\(snapshot)"
            do throws(PartitionError) {
                try copyLayer(name, toNew: partial, in: directory)
                FaultPoint.reach("snapshot-copied")
                cgroup?.thawAll()
                try writeInfo(info, to: "\(directory)/\(partial)/info.json")
                guard rename("\(directory)/\(partial)", "\(directory)/\(snapshot)") == 0 else {
                    throw HostSystem.failure("name the snapshot \(snapshot)")
                }
            } catch {
                cgroup?.thawAll()
                try? HostSystem.removeTree("\(directory)/\(partial)")
                try? removeJournal(name)
                throw error
            }
            try removeJournal(name)
            return info
        }
    }

    /// Puts the snapshot's layer in place of the WPAR's. A running WPAR is stopped first (its
    /// init gets its stop signal and 10 seconds, then it is killed) and started again on the
    /// reverted layer; a stopped one stays stopped. Returns whether it was started again.
    @discardableResult
    public func revertSnapshot(_ name: PartitionName, _ snapshot: SnapshotName) throws(PartitionError) -> Bool {
        let wasRunning = try locked(name, "snapshot revert") { () throws(PartitionError) -> Bool in
            let spec = try definitions.load(name)
            try Self.checkSnapshotable(spec)
            let record = try repair(name)
            let source = "\(snapshotsDirectory(name))/\(snapshot)"
            guard HostSystem.fileType("\(source)/layer") == .directory else {
                throw PartitionError(.notFound, "The WPAR has no snapshot named \(snapshot) ('partctl snapshot list' shows its snapshots).")
            }
            if let record { try stopLocked(name, record: record, signal: spec.stopSignal, within: 10, force: true) }
            try writeJournal(name, SnapshotJournal(operation: "revert", snapshot: snapshot))
            let wpar = definitions.directory(of: name)
            try HostSystem.removeTree("\(wpar)/upper.revert")
            let from = try Self.openDirectory(source + "/layer")
            defer { close(from) }
            let into = try Self.openDirectory(wpar)
            defer { close(into) }
            try TreeCopy.copy(from: from, to: into, name: "upper.revert", what: "the snapshot \(snapshot) of \(name)")
            FaultPoint.reach("snapshot-revert-copied")
            if HostSystem.fileType("\(wpar)/upper") == .directory {
                guard DirectoryExchange.exchange("upper.revert", "upper", in: into) else {
                    throw HostSystem.failure("put the snapshot's layer in place")
                }
            } else if renameat(into, "upper.revert", into, "upper") != 0 {
                throw HostSystem.failure("put the snapshot's layer in place")
            }
            // The old layer, and overlayfs's scratch directory of it (made again at activation).
            try HostSystem.removeTree("\(wpar)/upper.revert")
            try HostSystem.removeTree("\(wpar)/upper.work")
            try removeJournal(name)
            return record != nil
        }
        if wasRunning { try activate(name) }
        return wasRunning
    }

    public func removeSnapshot(_ name: PartitionName, _ snapshot: SnapshotName) throws(PartitionError) {
        try locked(name, "snapshot remove") { () throws(PartitionError) in
            guard definitions.exists(name) else { throw PartitionError(.notFound, "The WPAR is not defined.") }
            _ = try repair(name)
            let directory = snapshotsDirectory(name)
            guard HostSystem.fileType("\(directory)/\(snapshot)") == .directory else {
                throw PartitionError(.notFound, "The WPAR has no snapshot named \(snapshot) ('partctl snapshot list' shows its snapshots).")
            }
            // Renamed away first: a kill half-way through leaves a partial the next command sweeps.
            try writeJournal(name, SnapshotJournal(operation: "remove", snapshot: snapshot))
            guard rename("\(directory)/\(snapshot)", "\(directory)/.partial-\(snapshot)") == 0 else {
                throw HostSystem.failure("remove the snapshot \(snapshot)")
            }
            try HostSystem.removeTree("\(directory)/.partial-\(snapshot)")
            try removeJournal(name)
        }
    }

    /// Freezes a running WPAR for its LPAR's snapshot (the agent, `wpar.freeze`); false when it
    /// is not running. The host keeps the journal: it thaws the WPAR if it is killed meanwhile.
    public func freeze(_ name: PartitionName) throws(PartitionError) -> Bool {
        try locked(name, "freeze") { () throws(PartitionError) -> Bool in
            guard try repair(name) != nil, let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue) else {
                return false
            }
            try cgroup.freezeAll()
            return true
        }
    }

    /// Lets a frozen WPAR run again; one that is not frozen or not running is fine.
    public func thaw(_ name: PartitionName) throws(PartitionError) {
        guard let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue) else { return }
        cgroup.thawAll()
    }

    /// What a killed snapshot command left: the cgroup thawed, partial copies removed. Part of `repair`.
    func repairSnapshots(_ name: PartitionName) throws(PartitionError) {
        let journal = snapshotJournal(name)
        guard HostSystem.fileType(journal) != nil else { return }
        if let cgroup = try WorkloadCgroup.open(layout: CgroupLayout.current(), name: name.rawValue) { cgroup.thawAll() }
        let directory = snapshotsDirectory(name)
        for entry in SystemCall.subdirectories(of: directory) where entry.hasPrefix(".partial-") {
            try HostSystem.removeTree("\(directory)/\(entry)")
        }
        // A revert killed before the exchange leaves its copy; after it, the old layer: either goes.
        try HostSystem.removeTree(definitions.directory(of: name) + "/upper.revert")
        try removeJournal(name)
    }

    /// Snapshots copy the private layer partctl places for a system WPAR with an overlay root.
    static func checkSnapshotable(_ spec: WorkloadSpec) throws(PartitionError) {
        guard spec.kind == .system, case .overlay(_, nil) = spec.root else {
            throw PartitionError(.unsupported,
                "Only a system WPAR with an overlay root (overlay: true) has a writable layer of its own to snapshot; this one writes to a directory shared with the host.")
        }
        if spec.diskLimit != nil {
            throw PartitionError(.unsupported, "Snapshots of a WPAR with a disk limit (disk: {max}) are not supported yet: its layer lives in an image of its own.")
        }
    }

    private func copyLayer(_ name: PartitionName, toNew partial: String, in directory: String) throws(PartitionError) {
        try HostSystem.removeTree("\(directory)/\(partial)")
        guard mkdir("\(directory)/\(partial)", 0o700) == 0 else { throw HostSystem.failure("create the snapshot directory") }
        let into = try Self.openDirectory("\(directory)/\(partial)")
        defer { close(into) }
        let wpar = try Self.openDirectory(definitions.directory(of: name))
        defer { close(wpar) }
        let upper = openat(wpar, "upper", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if upper < 0 {
            // Never activated: its layer is empty.
            guard errno == ENOENT, mkdirat(into, "layer", 0o755) == 0 else { throw HostSystem.failure("open the writable layer of \(name)") }
            return
        }
        defer { close(upper) }
        try TreeCopy.copy(from: upper, to: into, name: "layer", what: "the writable layer of \(name)")
    }

    /// A directory partctl made, opened without following a symlink in its last component.
    static func openDirectory(_ path: String) throws(PartitionError) -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw HostSystem.failure("open \(path)") }
        return fd
    }

    private func writeInfo(_ info: WorkloadSnapshot, to path: String) throws(PartitionError) {
        guard let data = try? JSONEncoder().encode(info) else { throw PartitionError(.internal, "The snapshot's record cannot be encoded.") }
        try AtomicFile.write(Array(data), to: path, mode: 0o600)
    }

    private func writeJournal(_ name: PartitionName, _ journal: SnapshotJournal) throws(PartitionError) {
        try StateDirectory.ensure(paths.root + "/snapshots", mode: 0o700)
        guard let data = try? JSONEncoder().encode(journal) else { throw PartitionError(.internal, "The snapshot journal cannot be encoded.") }
        try AtomicFile.write(Array(data), to: snapshotJournal(name), mode: 0o600)
    }

    private func removeJournal(_ name: PartitionName) throws(PartitionError) {
        if unlink(snapshotJournal(name)) != 0 && errno != ENOENT { throw HostSystem.failure("remove the snapshot journal of \(name)") }
    }
}
