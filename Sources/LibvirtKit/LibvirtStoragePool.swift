import CLibvirt
import Glibc
import PartitionModel

/// One libvirt storage pool (`virStoragePoolPtr`), freed when the last reference goes.
///
/// `@unchecked Sendable`: like a domain handle, its identity never changes and every call goes
/// through its (thread-safe) connection.
public final class LibvirtStoragePool: @unchecked Sendable {
    let pointer: virStoragePoolPtr
    public let connection: LibvirtConnection

    init(owning pointer: virStoragePoolPtr, connection: LibvirtConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit {
        virStoragePoolFree(pointer)
    }

    /// The pool's name (virStoragePoolGetName).
    public var name: String {
        virStoragePoolGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// Whether the pool is started (virStoragePoolIsActive).
    public func isActive() throws(PartitionError) -> Bool {
        try LibvirtCall.run("virStoragePoolIsActive") { virStoragePoolIsActive(pointer) } == 1
    }

    /// Makes the pool's storage, e.g. a dir pool's directory with the mode its XML gives (virStoragePoolBuild).
    public func build() throws(PartitionError) {
        try LibvirtCall.run("virStoragePoolBuild") { virStoragePoolBuild(pointer, 0) }
    }

    /// Starts the pool (virStoragePoolCreate).
    public func start() throws(PartitionError) {
        try LibvirtCall.run("virStoragePoolCreate") { virStoragePoolCreate(pointer, 0) }
    }

    /// Stops the pool; its volumes stay on disk (virStoragePoolDestroy).
    public func stop() throws(PartitionError) {
        try LibvirtCall.run("virStoragePoolDestroy") { virStoragePoolDestroy(pointer) }
    }

    /// Removes the pool's definition; its storage stays (virStoragePoolUndefine).
    public func undefine() throws(PartitionError) {
        try LibvirtCall.run("virStoragePoolUndefine") { virStoragePoolUndefine(pointer) }
    }

    /// Rescans the pool's storage, so that files put there by other means become volumes (virStoragePoolRefresh).
    public func refresh() throws(PartitionError) {
        try LibvirtCall.run("virStoragePoolRefresh") { virStoragePoolRefresh(pointer, 0) }
    }

    public func autostart() throws(PartitionError) -> Bool {
        var enabled: Int32 = 0
        try LibvirtCall.run("virStoragePoolGetAutostart") { virStoragePoolGetAutostart(pointer, &enabled) }
        return enabled != 0
    }

    public func setAutostart(_ enabled: Bool) throws(PartitionError) {
        try LibvirtCall.run("virStoragePoolSetAutostart") { virStoragePoolSetAutostart(pointer, enabled ? 1 : 0) }
    }

    /// The pool's XML description (virStoragePoolGetXMLDesc).
    public func xmlDesc() throws(PartitionError) -> String {
        try LibvirtCall.string("virStoragePoolGetXMLDesc") { virStoragePoolGetXMLDesc(pointer, 0) }
    }

    // MARK: Volumes

    /// The volume with this name, or nil when the pool has none (virStorageVolLookupByName).
    public func lookupVolume(name: String) throws(PartitionError) -> LibvirtStorageVolume? {
        switch LibvirtCall.result("virStorageVolLookupByName", { virStorageVolLookupByName(pointer, name) }) {
        case .success(let volume): return LibvirtStorageVolume(owning: volume, connection: connection)
        case .failure(let info) where info.is(VIR_ERR_NO_STORAGE_VOL): return nil
        case .failure(let info): throw info.partitionError
        }
    }

    /// Every volume of the pool (virStoragePoolListAllVolumes).
    public func volumes() throws(PartitionError) -> [LibvirtStorageVolume] {
        var list: UnsafeMutablePointer<virStorageVolPtr?>?
        let count = try LibvirtCall.run("virStoragePoolListAllVolumes") { virStoragePoolListAllVolumes(pointer, &list, 0) }
        defer { free(list) }
        guard let list else { return [] }
        return UnsafeBufferPointer(start: list, count: Int(count)).compactMap { volume in
            volume.map { LibvirtStorageVolume(owning: $0, connection: connection) }
        }
    }

    /// Creates a volume from XML (virStorageVolCreateXML). A `<backingStore>` in it makes a
    /// copy-on-write overlay: only what the guest writes takes space.
    public func createVolume(xml: String) throws(PartitionError) -> LibvirtStorageVolume {
        let volume = try LibvirtCall.run("virStorageVolCreateXML") { virStorageVolCreateXML(pointer, xml, 0) }
        return LibvirtStorageVolume(owning: volume, connection: connection)
    }
}

extension LibvirtConnection {
    /// The storage pool with this name, or nil when there is none (virStoragePoolLookupByName).
    public func lookupStoragePool(name: String) throws(PartitionError) -> LibvirtStoragePool? {
        switch LibvirtCall.result("virStoragePoolLookupByName", { virStoragePoolLookupByName(pointer, name) }) {
        case .success(let pool): return LibvirtStoragePool(owning: pool, connection: self)
        case .failure(let info) where info.is(VIR_ERR_NO_STORAGE_POOL): return nil
        case .failure(let info): throw info.partitionError
        }
    }

    /// Defines a persistent storage pool from XML (virStoragePoolDefineXML); it is not started.
    public func defineStoragePool(xml: String) throws(PartitionError) -> LibvirtStoragePool {
        let pool = try LibvirtCall.run("virStoragePoolDefineXML") { virStoragePoolDefineXML(pointer, xml, 0) }
        return LibvirtStoragePool(owning: pool, connection: self)
    }
}
