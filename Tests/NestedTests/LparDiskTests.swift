import Foundation
import Glibc
import LibvirtKit
import PartctlTestSupport
import PartitionCore
import PartitionImages
import PartitionModel
import Testing

/// LPAR disks against the real libvirtd: a ptest- disk image in the store with its base volume in
/// the `partctl` pool, LPARs defined from it through the partctl command line (an overlay and a
/// seed each), activated, removed. Needs libvirtd and the guest image (`make setup guest-image`);
/// run under the test lock.
@Suite("LPAR disks", .serialized)
struct LparDiskTests {
    static let stateRoot = "/var/lib/partctl"
    static let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ptest@host"

    let connection: LibvirtConnection
    let pool: ImagePool
    let directory = NSTemporaryDirectory() + TestNames.unique("lpardisk")

    init() throws {
        try LibvirtEventLoop.start()
        connection = try LibvirtConnection.open(uri: "qemu:///system")
        pool = ImagePool(connection: connection, stateRoot: Self.stateRoot)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// A disk image of 64 MiB (an empty qcow2) committed to the store, its base in the pool; removed after `body`.
    func withImage(_ body: (ImageManifest) throws -> Void) throws {
        let store = ImageStore(stateRoot: Self.stateRoot)
        let name = try ImageName(validating: TestNames.unique("img"))
        let staging = try store.stage(name)
        let made = try TestProcess.run("/usr/bin/qemu-img", ["create", "-q", "-f", "qcow2", staging.disk, "64M"])
        try #require(made.status == 0, "\(made)")
        let digest = "sha256:" + (0..<8).map { _ in String(format: "%08x", UInt32.random(in: 0...UInt32.max)) }.joined()
        let manifest = ImageManifest(name: name, digest: digest, kinds: [.disk], size: 1, source: "ptest",
                                     disk: ImageDisk(volume: ImageDisk.volumeName(image: name.text, digest: digest),
                                                     capacity: 64 << 20, firmware: ["bios", "uefi"]))
        let cleanup = Cleanup()
        cleanup.add { staging.abandon() }
        try pool.addBase(from: staging.disk, for: manifest)
        cleanup.add { [pool] in try? pool.removeBase(of: manifest) }
        try staging.commit(manifest)
        cleanup.add { if let lock = try? store.lock(name) { try? store.remove(name, holding: lock) } }
        try body(manifest)
    }

    func profile(_ name: String, _ lines: String) throws -> String {
        let path = directory + "/" + name + ".yaml"
        try ("kind: lpar\nextends: lpar-minimal\n" + lines).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func partctl(_ arguments: String...) throws -> ProcessResult {
        try TestProcess.run(BuiltProducts.partctl, arguments, timeout: 240)
    }

    func volume(_ name: String) throws -> LibvirtStorageVolume? {
        try pool.existingPool()?.lookupVolume(name: name)
    }

    @Test func anLparFromAnImageGetsAnOverlayAndASeedAndGivesThemBack() throws {
        try withImage { manifest in
            let lpar = TestNames.unique("disk")
            defer { removeTestPartition(lpar) }
            let file = try profile("img", "image: \(manifest.name)\nhostname: ptest-host\nssh_authorized_keys: ['\(Self.key)']\n")
            let defined = try partctl("define", lpar, "--profile", file)
            try #require(defined.status == 0, "\(defined)")

            let overlay = try #require(try volume("lpar-\(lpar).qcow2"))
            let info = try overlay.info()
            #expect(info.capacity == 64 << 20)
            #expect(info.allocation <= 1 << 20, "the overlay took \(info.allocation) bytes")
            let basePath = try #require(try volume(manifest.disk!.volume)).path()
            #expect(try overlay.xmlDesc().contains(basePath))
            let seed = try #require(try volume("lpar-\(lpar)-seed.iso"))
            // Its user-data may hold secrets: no other host user reads it (it was 0644).
            var status = stat()
            #expect(stat(try seed.path(), &status) == 0 && status.st_mode & 0o077 == 0, "mode \(String(status.st_mode & 0o777, radix: 8))")
            // Nor the image's base (it was 0444 in a pool directory every user may pass).
            #expect(stat(basePath, &status) == 0 && status.st_mode & 0o077 == 0, "mode \(String(status.st_mode & 0o777, radix: 8))")

            // The domain: the overlay is vda with its whole chain given, the seed a read-only cdrom.
            let xml = try #require(try connection.lookupDomain(name: lpar)).xmlDesc([.inactive])
            #expect(xml.contains("<source file='\(try overlay.path())'"))
            #expect(xml.contains("<source file='\(basePath)'"))
            #expect(xml.contains("<target dev='vda' bus='virtio'/>"))
            #expect(xml.contains("<source file='\(try seed.path())'"))
            let baseBefore = try Data(contentsOf: URL(fileURLWithPath: basePath))

            let activated = try partctl("activate", lpar)
            #expect(activated.status == 0, "\(activated)")
            let blocks = try TestProcess.run("/usr/bin/virsh", ["-c", "qemu:///system", "domblklist", lpar])
            #expect(blocks.stdout.contains("lpar-\(lpar).qcow2") && blocks.stdout.contains("lpar-\(lpar)-seed.iso"), "\(blocks)")

            let removed = try partctl("remove", lpar, "--force")
            #expect(removed.status == 0, "\(removed)")
            #expect(try volume("lpar-\(lpar).qcow2") == nil)
            #expect(try volume("lpar-\(lpar)-seed.iso") == nil)
            // The base is the image's: still there, unchanged.
            #expect(try Data(contentsOf: URL(fileURLWithPath: basePath)) == baseBefore)
        }
    }

    @Test func whatADefineKilledHalfWayLeftIsRemovedByTheNextDefine() throws {
        try withImage { manifest in
            // A define that died after making its overlay and before its domain existed.
            let dead = try PartitionName(TestNames.unique("dead"))
            _ = try pool.createOverlay(for: dead, base: manifest.disk!.volume)
            #expect(try volume("lpar-\(dead).qcow2") != nil)
            defer { try? pool.removeVolumes(of: dead) }

            let lpar = TestNames.unique("next")
            defer { removeTestPartition(lpar) }
            let defined = try partctl("define", lpar, "--profile", try profile("host", "hostname: ptest-next\n"))
            #expect(defined.status == 0, "\(defined)")
            #expect(try volume("lpar-\(dead).qcow2") == nil)
            // Without an image, only the seed.
            #expect(try volume("lpar-\(lpar).qcow2") == nil)
            #expect(try volume("lpar-\(lpar)-seed.iso") != nil)
        }
    }

    @Test func refusedImagesLeaveNothing() throws {
        try withImage { manifest in
            let lpar = TestNames.unique("bad")
            defer { removeTestPartition(lpar) }
            let missing = try partctl("define", lpar, "--profile", try profile("missing", "image: ptest-no-such-image\n"))
            #expect(missing.status == 2, "\(missing)")
            #expect(missing.stderr.contains("No image named 'ptest-no-such-image'"), "\(missing)")

            let link = directory + "/ud-link"
            try "#cloud-config\n".write(toFile: directory + "/ud", atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: directory + "/ud")
            let linked = try partctl("define", lpar, "--profile", try profile("link", "image: \(manifest.name)\nuser_data: \(link)\n"))
            #expect(linked.status == 2, "\(linked)")
            #expect(linked.stderr.contains("user_data") && linked.stderr.contains("symbolic link"), "\(linked)")

            #expect(try connection.lookupDomain(name: lpar) == nil)
            #expect(try volume("lpar-\(lpar).qcow2") == nil)
            #expect(try volume("lpar-\(lpar)-seed.iso") == nil)
        }
    }
}
