import CLibvirt
import Glibc
import PartitionModel

/// Looking at files on the daemon's host through libvirt's storage API (for a remote managed
/// system partctl has no other way to see them).
extension LibvirtConnection {
    /// The volume at `path` in any pool of this daemon, or nil when no pool holds it
    /// (virStorageVolLookupByPath).
    public func storageVolume(atPath path: String) throws(PartitionError) -> LibvirtStorageVolume? {
        switch LibvirtCall.result("virStorageVolLookupByPath", { virStorageVolLookupByPath(pointer, path) }) {
        case .success(let volume): return LibvirtStorageVolume(owning: volume, connection: self)
        case .failure(let info) where info.is(VIR_ERR_NO_STORAGE_VOL): return nil
        case .failure(let info): throw info.partitionError
        }
    }

    /// Starts a pool that is gone when stopped: no definition is kept (virStoragePoolCreateXML).
    public func createTransientStoragePool(xml: String) throws(PartitionError) -> LibvirtStoragePool {
        let pool = try LibvirtCall.run("virStoragePoolCreateXML") { virStoragePoolCreateXML(pointer, xml, 0) }
        return LibvirtStoragePool(owning: pool, connection: self)
    }
}
