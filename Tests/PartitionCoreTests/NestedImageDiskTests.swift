import Foundation
import Testing
@testable import PartitionCore
import PartitionImages
import PartitionModel

/// The host side of images in nested WPARs that needs no LPAR: names, the disk's XML, finding
/// partctl's image disks (and only those) in a domain's XML, and the ext4 image of a tree.
@Suite struct NestedImageDiskTests {
    static let manifest = ImageManifest(name: try! ImageName(validating: "ptest-img"),
                                        digest: "sha256:" + String(repeating: "ab", count: 32), kinds: [.rootfs], size: 1, source: "test")

    @Test func namesComeFromTheDigest() {
        let disk = NestedImageDisk(image: Self.manifest, stateRoot: "/var/lib/partctl")
        #expect(disk.serial == "pimg-ababababab" + "ab")
        #expect(disk.guestPath == "/var/lib/partctl/rootfs/pimg-abababababab")
        #expect(disk.file == "/var/lib/partctl/pool/rootfs-ptest-img-abababababab.img")
        let xml = disk.diskXML(target: "vdb")
        #expect(xml.contains("<readonly/>") && xml.contains("<serial>pimg-abababababab</serial>") && xml.contains("dev='vdb'"))
    }

    @Test func onlyPartctlsImageDisksAreFound() {
        let domain = """
            <domain><devices>
            <disk type='file' device='disk'><source file='/srv/a.qcow2'/><target dev='vda' bus='virtio'/><serial>mine</serial></disk>
            <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/var/lib/partctl/pool/rootfs-x-0123456789ab.img'/><target dev='vdc' bus='virtio'/><readonly/><serial>pimg-0123456789ab</serial><alias name='virtio-disk2'/></disk>
            <disk type='file' device='cdrom'><target dev='sda' bus='sata'/></disk>
            </devices></domain>
            """
        let disks = NestedImageDisk.diskElements(in: domain)
        #expect(disks.map(\.serial) == ["pimg-0123456789ab"])
        #expect(disks.first?.xml.hasPrefix("<disk ") == true && disks.first?.xml.hasSuffix("</disk>") == true)
        #expect(Set(NestedImageDisk.targets(in: domain)) == ["vda", "vdc", "sda"])
    }

    @Test func theFileSystemImageIsMadeOnceAndHoldsTheTree() throws {
        guard getuid() == 0 else { return print("NestedImageDiskTests: mkfs.ext4 -d keeps owners only as root; skipped") }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-nimgdisk-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/tree/etc", withIntermediateDirectories: true)
        try "hello\n".write(toFile: root + "/tree/etc/marker", atomically: false, encoding: .utf8)
        let disk = NestedImageDisk(image: Self.manifest, stateRoot: root)
        try disk.prepare(tree: root + "/tree")
        let listing = try TestProcessRunner.output("/sbin/debugfs", ["-R", "cat /etc/marker", disk.file])
        #expect(listing == "hello\n")
        let made = try FileManager.default.attributesOfItem(atPath: disk.file)[.modificationDate] as? Date
        try disk.prepare(tree: root + "/tree")
        #expect(try FileManager.default.attributesOfItem(atPath: disk.file)[.modificationDate] as? Date == made)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/pool") == [disk.file.split(separator: "/").last.map(String.init)!])
    }
}

enum TestProcessRunner {
    static func output(_ program: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
