import Foundation
import PartctlTestSupport
import PartitionModel
import Testing
@testable import LibvirtKit

/// Against the real libvirtd (qemu:///system): a dir pool of our own (ptest-…, in a temporary
/// directory), a qcow2 base and an overlay on it through the storage API, and an upload.
/// Needs libvirtd (`make setup`) and root; run under the test lock.
@Suite("Real storage", .serialized)
struct RealStorageTests {
    func withPool(_ body: (LibvirtStoragePool, String) throws -> Void) throws {
        try LibvirtEventLoop.start()
        let connection = try LibvirtConnection.open(uri: "qemu:///system")
        let name = uniqueTestName("pool")
        let directory = NSTemporaryDirectory() + name
        let pool = try connection.defineStoragePool(xml: StorageTests.dirPoolXML(name: name, path: directory))
        defer {
            for volume in (try? pool.volumes()) ?? [] { try? volume.delete() }
            if (try? pool.isActive()) == true { try? pool.stop() }
            try? pool.undefine()
            try? FileManager.default.removeItem(atPath: directory)
        }
        try pool.build()
        try pool.start()
        var status = stat()
        #expect(stat(directory, &status) == 0 && status.st_mode & 0o777 == 0o711)
        try body(pool, directory)
    }

    @Test func overlayOnABaseCostsNothingAndNamesItsBacking() throws {
        try withPool { pool, directory in
            let base = try pool.createVolume(xml: """
                <volume><name>base.qcow2</name><capacity unit='MiB'>256</capacity>
                <target><format type='qcow2'/></target></volume>
                """)
            let basePath = try base.path()
            #expect(basePath == directory + "/base.qcow2")
            let overlay = try pool.createVolume(xml: """
                <volume><name>overlay.qcow2</name><capacity unit='MiB'>256</capacity>
                <target><format type='qcow2'/></target>
                <backingStore><path>\(basePath)</path><format type='qcow2'/></backingStore></volume>
                """)
            let info = try overlay.info()
            #expect(info.capacity == 256 << 20)
            #expect(info.allocation <= 1 << 20, "an overlay took \(info.allocation) bytes")
            let xml = try overlay.xmlDesc()
            #expect(xml.contains("<backingStore>") && xml.contains(basePath))
            // The file's header names the base and its format: QEMU never probes it.
            let header = try String(contentsOfFile: directory + "/overlay.qcow2", encoding: .isoLatin1)
            #expect(header.contains(basePath))
            try overlay.delete()
            #expect(try pool.lookupVolume(name: "overlay.qcow2") == nil)
            #expect(FileManager.default.fileExists(atPath: basePath))
        }
    }

    @Test func uploadWritesTheBytesAndRefreshAdoptsAFile() throws {
        try withPool { pool, directory in
            let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let source = NSTemporaryDirectory() + uniqueTestName("upload")
            try Data(bytes).write(to: URL(fileURLWithPath: source))
            defer { try? FileManager.default.removeItem(atPath: source) }
            let volume = try pool.createVolume(xml: """
                <volume><name>up.raw</name><capacity>\(bytes.count)</capacity><target><format type='raw'/></target></volume>
                """)
            let descriptor = open(source, O_RDONLY | O_CLOEXEC)
            defer { close(descriptor) }
            try volume.upload(from: descriptor, length: UInt64(bytes.count))
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/up.raw")) == Data(bytes))

            // A file put into the directory by other means is a volume after a refresh.
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/adopted.raw"))
            #expect(try pool.lookupVolume(name: "adopted.raw") == nil)
            try pool.refresh()
            #expect(try pool.lookupVolume(name: "adopted.raw")?.info().capacity == UInt64(bytes.count))
        }
    }
}
