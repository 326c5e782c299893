import CLibvirt
import Glibc
import PartitionModel

/// What a volume takes: its size as the guest sees it, and the bytes it holds on the host.
public struct LibvirtVolumeInfo: Sendable, Equatable {
    /// Logical size in bytes (what the guest sees as its disk).
    public var capacity: UInt64
    /// Bytes allocated on the host.
    public var allocation: UInt64
    /// virStorageVolType: 0 file, 1 block, 2 dir, ...
    public var type: Int32
}

/// One storage volume (`virStorageVolPtr`), freed when the last reference goes.
///
/// `@unchecked Sendable`: an immutable handle whose calls go through its thread-safe connection.
public final class LibvirtStorageVolume: @unchecked Sendable {
    let pointer: virStorageVolPtr
    public let connection: LibvirtConnection

    init(owning pointer: virStorageVolPtr, connection: LibvirtConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit {
        virStorageVolFree(pointer)
    }

    /// The volume's name in its pool (virStorageVolGetName).
    public var name: String {
        virStorageVolGetName(pointer).map { String(cString: $0) } ?? ""
    }

    /// The volume's path on the managed system (virStorageVolGetPath).
    public func path() throws(PartitionError) -> String {
        try LibvirtCall.string("virStorageVolGetPath") { virStorageVolGetPath(pointer) }
    }

    /// Capacity and allocation (virStorageVolGetInfo).
    public func info() throws(PartitionError) -> LibvirtVolumeInfo {
        var info = virStorageVolInfo()
        try LibvirtCall.run("virStorageVolGetInfo") { virStorageVolGetInfo(pointer, &info) }
        return LibvirtVolumeInfo(capacity: UInt64(info.capacity), allocation: UInt64(info.allocation), type: info.type)
    }

    /// The volume's XML description (virStorageVolGetXMLDesc).
    public func xmlDesc() throws(PartitionError) -> String {
        try LibvirtCall.string("virStorageVolGetXMLDesc") { virStorageVolGetXMLDesc(pointer, 0) }
    }

    /// Deletes the volume and its storage (virStorageVolDelete).
    public func delete() throws(PartitionError) {
        try LibvirtCall.run("virStorageVolDelete") { virStorageVolDelete(pointer, 0) }
    }

    /// Writes `length` bytes read from `descriptor` into the volume from its start, through a
    /// libvirt stream (virStorageVolUpload), so it works for a remote managed system too.
    /// Needs `LibvirtEventLoop.start()` before the connection was opened.
    public func upload(from descriptor: Int32, length: UInt64) throws(PartitionError) {
        let stream = try LibvirtStream(connection: connection)
        try LibvirtCall.run("virStorageVolUpload") { virStorageVolUpload(pointer, stream.pointer, 0, length, 0) }
        stream.markOpen()
        var remaining = length
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        do throws(PartitionError) {
            while remaining > 0 {
                let wanted = Int(min(UInt64(buffer.count), remaining))
                let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, wanted) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else {
                    throw PartitionError(.system, "The file to upload ended \(remaining) bytes early, or could not be read.")
                }
                try stream.send(Array(buffer[..<count]), timeout: .seconds(60))
                remaining -= UInt64(count)
            }
            try stream.finish()
        } catch {
            stream.abort()
            throw error
        }
    }
}
