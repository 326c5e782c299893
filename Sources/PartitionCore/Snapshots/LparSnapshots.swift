import AgentProtocol
import LibvirtKit
import PartitionModel
import SystemKit
import WorkloadEngine

/// LPAR snapshots through libvirt: internal snapshots in the LPAR's qcow2 disks, with the memory
/// state when it runs (libvirt 9.0 cannot revert external snapshots). The running nested WPARs
/// are frozen through the agent first, so that disks and memory hold no half-written file of
/// theirs, and thawed after; their names go into the snapshot's description, so that a revert to
/// it (where they are frozen again, in the saved memory) thaws them too.
extension PartitionManager {
    func createLparSnapshot(_ lpar: LparTarget, _ name: SnapshotName) throws(PartitionError) -> SnapshotInfo {
        let domain = lpar.domain
        try LparSnapshotDisks.check(try domain.xmlDesc(), lpar: lpar.name)
        if try domain.snapshot(named: name.rawValue) != nil {
            throw PartitionError(.alreadyExists, "The LPAR already has a snapshot named \(name); remove it first or choose another name.")
        }
        let journal = LparSnapshotJournal(runtimeRoot: configuration.runtimeRoot, lpar: lpar.name)
        var frozen: [PartitionName] = []
        let freezes = try domain.isActive() && !lpar.metadata.nested.entries.isEmpty
        if freezes {
            try journal.write()
            frozen = try withAgent(lpar, "snapshot of \(lpar.name)") { (client) throws(PartitionError) in
                try client.call(Agent.Freeze.self, .init(names: nil), timeout: .seconds(60)).frozen
            }
        }
        FaultPoint.reach("lpar-snapshot-frozen")
        let snapshot: LibvirtSnapshot
        do {
            snapshot = try domain.createSnapshot(xml: Self.snapshotXML(name, frozen: frozen))
        } catch {
            if freezes { try? thawNested(lpar, frozen); try? journal.remove() }
            throw Self.explainSnapshotFailure(error)
        }
        if freezes {
            try thawNested(lpar, frozen)
            try journal.remove()
        }
        return try Self.info(snapshot)
    }

    func lparSnapshots(_ lpar: LparTarget) throws(PartitionError) -> [SnapshotInfo] {
        try repairLparSnapshot(lpar)
        var result: [SnapshotInfo] = []
        for snapshot in try lpar.domain.snapshots() { result.append(try Self.info(snapshot)) }
        return result.sorted { ($0.createdAt, $0.name) < ($1.createdAt, $1.name) }
    }

    /// The LPAR as it was: running from the saved memory when it ran, stopped when it was stopped.
    func revertLparSnapshot(_ lpar: LparTarget, _ name: SnapshotName) throws(PartitionError) {
        try repairLparSnapshot(lpar)
        let snapshot = try Self.snapshot(lpar, name)
        let frozen = LparSnapshotXML.frozenNames(in: try snapshot.xmlDesc())
        try snapshot.revert()
        guard try lpar.domain.isActive(), let frozen else { return }
        // They were frozen when the memory was saved: let them run again.
        try thawNested(lpar, frozen)
    }

    func removeLparSnapshot(_ lpar: LparTarget, _ name: SnapshotName) throws(PartitionError) {
        try repairLparSnapshot(lpar)
        try Self.snapshot(lpar, name).delete()
    }

    /// What a killed `snapshot create` left: nested WPARs frozen. Thawed here (the next command on
    /// the LPAR), and the journal removed once they are.
    func repairLparSnapshot(_ lpar: LparTarget) throws(PartitionError) {
        let journal = LparSnapshotJournal(runtimeRoot: configuration.runtimeRoot, lpar: lpar.name)
        guard journal.exists else { return }
        if try lpar.domain.isActive() { try thawNested(lpar, nil) }
        try journal.remove()
    }

    /// For every locked command on an LPAR or its nested WPARs: one access() when nothing was left.
    func repairLparSnapshot(ifJournaled lpar: PartitionName) {
        guard LparSnapshotJournal(runtimeRoot: configuration.runtimeRoot, lpar: lpar).exists,
              let target = try? lpars().target(lpar) else { return }
        do { try repairLparSnapshot(target) } catch {
            warn(PartitionWarning(path: PartitionPath(components: [lpar]), operation: "snapshot",
                                  message: "Its nested WPARs, frozen by a snapshot that was interrupted, could not be thawed yet: \(error.message)"))
        }
    }

    private func thawNested(_ lpar: LparTarget, _ names: [PartitionName]?) throws(PartitionError) {
        if names?.isEmpty == true { return }
        try withAgent(lpar, "thaw of \(lpar.name)'s WPARs") { (client) throws(PartitionError) in
            _ = try client.call(Agent.Thaw.self, .init(names: names), timeout: .seconds(60))
        }
    }

    /// One agent connection, closed when `body` returns: none stays open across the snapshot.
    private func withAgent<T>(_ lpar: LparTarget, _ purpose: String, _ body: (AgentClient) throws(PartitionError) -> T) throws(PartitionError) -> T {
        let client = try nested(knowing: lpar).agent(lpar.domain, purpose, timeout: .seconds(60))
        do { return try body(client) } catch { throw Agent.explainSnapshotRefusal(error, lpar: lpar.name.rawValue) }
    }

    private static func snapshot(_ lpar: LparTarget, _ name: SnapshotName) throws(PartitionError) -> LibvirtSnapshot {
        guard let snapshot = try lpar.domain.snapshot(named: name.rawValue) else {
            throw PartitionError(.notFound, "The LPAR has no snapshot named \(name) ('partctl snapshot list \(lpar.name)' shows its snapshots).")
        }
        return snapshot
    }

    static func snapshotXML(_ name: SnapshotName, frozen: [PartitionName]) -> String {
        var root = XMLNode("domainsnapshot")
        root.append(XMLNode("name", text: name.rawValue))
        root.append(XMLNode("description", text: LparSnapshotXML.description(frozen: frozen)))
        return root.serialized()
    }

    static func info(_ snapshot: LibvirtSnapshot) throws(PartitionError) -> SnapshotInfo {
        let parsed = LparSnapshotXML(try XMLReader.parse(try snapshot.xmlDesc()))
        return SnapshotInfo(name: snapshot.name, createdAt: parsed.createdAt, state: parsed.running ? "running" : "defined",
                            content: parsed.memory ? "disk+memory" : "disk", current: try snapshot.isCurrent())
    }

    private static func explainSnapshotFailure(_ error: PartitionError) -> PartitionError {
        guard error.message.contains("internal snapshot") || error.message.contains("does not support") else { return error }
        return PartitionError(error.code, "libvirt could not take the snapshot: \(error.message) Every writable disk of the LPAR must be qcow2.")
    }
}

/// What partctl reads from a snapshot's XML.
struct LparSnapshotXML {
    var createdAt: Double = 0
    var running = false
    var memory = false

    init(_ root: XMLNode) {
        createdAt = root.element(named: "creationTime").flatMap { Double($0.text) } ?? 0
        let state = root.element(named: "state")?.text ?? ""
        running = state == "running" || state == "paused"
        memory = root.element(named: "memory")?.attribute("snapshot") == "internal" || (running && root.element(named: "memory") == nil)
    }

    static let prefix = "partctl: frozen nested WPARs: "

    static func description(frozen: [PartitionName]) -> String {
        prefix + (frozen.isEmpty ? "-" : frozen.map(\.rawValue).joined(separator: ","))
    }

    /// The nested WPARs frozen in the saved memory; nil when the snapshot is not partctl's.
    static func frozenNames(in xml: String) -> [PartitionName]? {
        guard let root = try? XMLReader.parse(xml), let text = root.element(named: "description")?.text, text.hasPrefix(prefix) else { return nil }
        let list = text.dropFirst(prefix.count)
        if list == "-" { return [] }
        return list.split(separator: ",").compactMap { try? PartitionName(String($0)) }
    }
}

/// Which disks can hold an internal snapshot: every writable disk must be qcow2, and there must be one.
enum LparSnapshotDisks {
    static func check(_ domainXML: String, lpar: PartitionName) throws(PartitionError) {
        let root = try XMLReader.parse(domainXML)
        let disks = root.element(named: "devices")?.elements(named: "disk") ?? []
        let writable = disks.filter { $0.attribute("device") != "cdrom" && $0.element(named: "readonly") == nil }
        if let raw = writable.first(where: { $0.element(named: "driver")?.attribute("type") != "qcow2" }) {
            let target = raw.element(named: "target")?.attribute("dev") ?? "?"
            throw PartitionError(.unsupported,
                "The LPAR's disk \(target) is not qcow2; a snapshot lives inside qcow2 disks, so every writable disk must be one (disks: [{file: ..., format: qcow2}]).")
        }
        guard !writable.isEmpty else {
            throw PartitionError(.unsupported,
                "The LPAR has no qcow2 disk to hold a snapshot (it boots a kernel directly, as lpar-minimal does); give its profile a qcow2 disk (disks: [{file: ..., format: qcow2}]) or use one with an image (lpar-debian).")
        }
    }
}
