import CLibvirt
import Glibc
import PartitionModel

extension LibvirtStorageVolume {
    /// Copies the volume's bytes as they are on the managed system (a qcow2 volume: its qcow2 file)
    /// into `descriptor`, through a libvirt stream (virStorageVolDownload), so that it works for a
    /// remote managed system too. Returns the number of bytes written. Needs
    /// `LibvirtEventLoop.start()` before the connection was opened.
    @discardableResult
    public func download(to descriptor: Int32, timeout: Duration = .seconds(120)) throws(PartitionError) -> UInt64 {
        let stream = try LibvirtStream(connection: connection)
        // Length 0: to the end of the volume.
        try LibvirtCall.run("virStorageVolDownload") { virStorageVolDownload(pointer, stream.pointer, 0, 0, 0) }
        stream.markOpen()
        var written: UInt64 = 0
        do throws(PartitionError) {
            while true {
                let bytes = try stream.receive(max: 1 << 20, timeout: timeout)
                if bytes.isEmpty { break }
                var offset = 0
                while offset < bytes.count {
                    let count = bytes[offset...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
                    if count < 0, errno == EINTR { continue }
                    guard count > 0 else {
                        throw PartitionError(.system, "Could not write the downloaded volume \(name): \(String(cString: strerror(errno))).")
                    }
                    offset += count
                }
                written += UInt64(bytes.count)
            }
            try stream.finish()
        } catch {
            stream.abort()
            throw error
        }
        return written
    }
}
