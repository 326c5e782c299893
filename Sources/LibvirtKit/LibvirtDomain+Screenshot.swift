import CLibvirt
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

extension LibvirtDomain {
    /// What the display of the running domain shows now (virDomainScreenshot): the image's MIME
    /// type as the hypervisor names it (QEMU: "image/x-portable-pixmap") and its bytes, read from a
    /// libvirt stream. Needs `LibvirtEventLoop.start()` before the connection was opened.
    public func screenshot(screen: UInt32 = 0, limit: Int = 64 << 20,
                           timeout: Duration = .seconds(30)) throws(PartitionError) -> (mimeType: String, bytes: [UInt8]) {
        let stream = try LibvirtStream(connection: connection)
        let mimeType = try LibvirtCall.string("virDomainScreenshot") { virDomainScreenshot(pointer, stream.pointer, screen, 0) }
        stream.markOpen()
        var bytes: [UInt8] = []
        while true {
            let chunk = try stream.receive(max: 256 << 10, timeout: timeout)
            if chunk.isEmpty { break }
            bytes += chunk
            guard bytes.count <= limit else {
                stream.abort()
                throw PartitionError(.outOfRange, "The screenshot is larger than \(limit >> 20) MiB.")
            }
        }
        try stream.finish()
        return (mimeType, bytes)
    }
}
