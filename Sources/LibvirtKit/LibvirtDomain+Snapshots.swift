import CLibvirt
import Glibc
import PartitionModel

/// One snapshot of a domain (`virDomainSnapshotPtr`), freed with the last reference.
public final class LibvirtSnapshot: @unchecked Sendable {
    let pointer: virDomainSnapshotPtr
    /// The domain it belongs to, kept alive as long as the snapshot handle.
    public let domain: LibvirtDomain

    init(owning pointer: virDomainSnapshotPtr, domain: LibvirtDomain) {
        self.pointer = pointer
        self.domain = domain
    }

    deinit { virDomainSnapshotFree(pointer) }

    /// The snapshot's name (virDomainSnapshotGetName).
    public var name: String { virDomainSnapshotGetName(pointer).map { String(cString: $0) } ?? "" }

    /// Its XML description: name, creation time, the domain's state then, disks and memory.
    public func xmlDesc() throws(PartitionError) -> String {
        try LibvirtCall.string("virDomainSnapshotGetXMLDesc") { virDomainSnapshotGetXMLDesc(pointer, 0) }
    }

    /// Whether it is the domain's current snapshot (the one the domain last came from).
    public func isCurrent() throws(PartitionError) -> Bool {
        try LibvirtCall.run("virDomainSnapshotIsCurrent") { virDomainSnapshotIsCurrent(pointer, 0) } == 1
    }

    /// Brings the domain back to this snapshot (virDomainRevertToSnapshot): running when it was
    /// running (with its memory), stopped when it was stopped.
    public func revert(force: Bool = false) throws(PartitionError) {
        let flags = force ? VIR_DOMAIN_SNAPSHOT_REVERT_FORCE.rawValue : 0
        try LibvirtCall.run("virDomainRevertToSnapshot") { virDomainRevertToSnapshot(pointer, flags) }
    }

    /// Deletes the snapshot, its data in the qcow2 disks included (virDomainSnapshotDelete).
    public func delete() throws(PartitionError) {
        try LibvirtCall.run("virDomainSnapshotDelete") { virDomainSnapshotDelete(pointer, 0) }
    }
}

extension LibvirtDomain {
    /// Takes a snapshot from `xml` (virDomainSnapshotCreateXML). Internal snapshots of qcow2
    /// disks, with the memory state when the domain runs (libvirt's default for a running domain).
    public func createSnapshot(xml: String, atomic: Bool = true) throws(PartitionError) -> LibvirtSnapshot {
        let flags = atomic ? VIR_DOMAIN_SNAPSHOT_CREATE_ATOMIC.rawValue : 0
        let snapshot = try LibvirtCall.run("virDomainSnapshotCreateXML") { virDomainSnapshotCreateXML(pointer, xml, flags) }
        return LibvirtSnapshot(owning: snapshot, domain: self)
    }

    /// The snapshot of this name, or nil when the domain has none of it.
    public func snapshot(named name: String) throws(PartitionError) -> LibvirtSnapshot? {
        switch LibvirtCall.result("virDomainSnapshotLookupByName", { virDomainSnapshotLookupByName(pointer, name, 0) }) {
        case .success(let snapshot): return LibvirtSnapshot(owning: snapshot, domain: self)
        case .failure(let info) where info.is(VIR_ERR_NO_DOMAIN_SNAPSHOT): return nil
        case .failure(let info): throw info.partitionError
        }
    }

    /// How many snapshots the domain has: virDomainListAllSnapshots without a list, one call.
    public func snapshotCount() throws(PartitionError) -> Int {
        Int(try LibvirtCall.run("virDomainListAllSnapshots") { virDomainListAllSnapshots(pointer, nil, 0) })
    }

    /// Every snapshot of the domain (virDomainListAllSnapshots).
    public func snapshots() throws(PartitionError) -> [LibvirtSnapshot] {
        var list: UnsafeMutablePointer<virDomainSnapshotPtr?>?
        let count = try LibvirtCall.run("virDomainListAllSnapshots") { virDomainListAllSnapshots(pointer, &list, 0) }
        guard let list else { return [] }
        defer { free(list) }
        return (0..<Int(count)).compactMap { list[$0].map { LibvirtSnapshot(owning: $0, domain: self) } }
    }
}
