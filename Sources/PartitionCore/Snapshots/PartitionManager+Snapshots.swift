import PartitionModel
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// One snapshot as `snapshot list` shows it, whatever the partition's kind.
public struct SnapshotInfo: Sendable, Hashable {
    public var name: String
    /// Seconds since 1970 (UTC).
    public var createdAt: Double
    /// The partition's state when it was taken: `running` or `defined`.
    public var state: String
    /// `disk+memory` (an LPAR that ran: it resumes where it was), `disk` (an LPAR that was
    /// stopped), or `layer` (a WPAR's writable layer).
    public var content: String
    /// An LPAR's current snapshot (the one it last came from); nil for WPARs.
    public var current: Bool?
}

/// `partctl snapshot create|list|revert|remove` (docs/snapshots.md): LPARs through libvirt's
/// snapshot API (LparSnapshots.swift), host WPARs through the engine, nested WPARs through their
/// LPAR's agent (NestedSnapshots.swift).
extension PartitionManager {
    public func createSnapshot(_ path: PartitionPath, name: SnapshotName?) throws(PartitionError) -> SnapshotInfo {
        let snapshot: SnapshotName
        if let name { snapshot = name } else { snapshot = try Self.defaultSnapshotName() }
        return try snapshotVerb(path, "snapshot create",
            host: { (engine, wpar) throws(PartitionError) in Self.info(try engine.createSnapshot(wpar, snapshot)) },
            lpar: { (lpar) throws(PartitionError) in try self.createLparSnapshot(lpar, snapshot) },
            nested: { (lpar, wpar) throws(PartitionError) in try self.nestedSnapshot(lpar, wpar, .create, snapshot).first! })
    }

    public func snapshots(_ path: PartitionPath) throws(PartitionError) -> [SnapshotInfo] {
        try snapshotVerb(path, "snapshot list",
            host: { (engine, wpar) throws(PartitionError) in try engine.snapshots(wpar).map(Self.info) },
            lpar: { (lpar) throws(PartitionError) in try self.lparSnapshots(lpar) },
            nested: { (lpar, wpar) throws(PartitionError) in try self.nestedSnapshot(lpar, wpar, .list, nil) })
    }

    public func revertSnapshot(_ path: PartitionPath, name: SnapshotName) throws(PartitionError) {
        try snapshotVerb(path, "snapshot revert",
            host: { (engine, wpar) throws(PartitionError) in _ = try engine.revertSnapshot(wpar, name) },
            lpar: { (lpar) throws(PartitionError) in try self.revertLparSnapshot(lpar, name) },
            nested: { (lpar, wpar) throws(PartitionError) in _ = try self.nestedSnapshot(lpar, wpar, .revert, name) })
    }

    public func removeSnapshot(_ path: PartitionPath, name: SnapshotName) throws(PartitionError) {
        try snapshotVerb(path, "snapshot remove",
            host: { (engine, wpar) throws(PartitionError) in try engine.removeSnapshot(wpar, name) },
            lpar: { (lpar) throws(PartitionError) in try self.removeLparSnapshot(lpar, name) },
            nested: { (lpar, wpar) throws(PartitionError) in _ = try self.nestedSnapshot(lpar, wpar, .remove, name) })
    }

    /// How many snapshots a host WPAR has, for `query` (a directory listing, no lock).
    func hostWparSnapshotCount(_ name: PartitionName) -> Int { wpars().engine.snapshotCount(name) }

    /// Dispatches by what the path names. An LPAR's verbs hold its lock; a nested WPAR's hold its
    /// LPAR's (withNested); the engine locks host WPARs itself.
    private func snapshotVerb<T>(_ path: PartitionPath, _ operation: String,
                                 host: (WorkloadEngine, PartitionName) throws(PartitionError) -> T,
                                 lpar: (LparTarget) throws(PartitionError) -> T,
                                 nested: (NestedBackend, (PartitionName, PartitionName)) throws(PartitionError) -> T) throws(PartitionError) -> T {
        guard let first = path.components.first else {
            throw PartitionError(.invalidArgument, "The managed system itself has no snapshots; name an LPAR or a WPAR.", operation: operation)
        }
        if path.depth == 2 {
            return try withNested(path, operation) { (backend, lparName, wpar) throws(PartitionError) -> T in
                try nested(backend, (lparName, wpar))
            }
        }
        if wpars().target(first) != nil {
            return try context(path, operation) { () throws(PartitionError) -> T in try host(wpars().engine, first) }
        }
        var found = false
        return try withLock(path, operation, exists: { found }) { () throws(PartitionError) -> T in
            let target = try self.lpars().target(first)
            found = true
            return try lpar(target)
        }
    }

    static func info(_ snapshot: WorkloadSnapshot) -> SnapshotInfo {
        SnapshotInfo(name: snapshot.name.rawValue, createdAt: snapshot.createdAt,
                     state: snapshot.wasRunning ? "running" : "defined", content: "layer", current: nil)
    }

    /// `s-YYYYMMDD-HHMMSS` (UTC) when `--name` is not given.
    static func defaultSnapshotName() throws(PartitionError) -> SnapshotName {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return try SnapshotName("s-\(parts.tm_year + 1900)\(two(parts.tm_mon + 1))\(two(parts.tm_mday))-\(two(parts.tm_hour))\(two(parts.tm_min))\(two(parts.tm_sec))")
    }
}
