import Foundation
import Glibc
import LibvirtKit
import PartctlTestSupport
import PartitionCore
import PartitionImages
import PartitionModel
import Testing

/// `backup` and `restore` through the partctl command line against the real libvirtd: an LPAR
/// from a ptest- disk image (an ext4 file system) with a file written in its disk from inside the
/// guest, backed up while it runs (paused for the copy), removed, restored under a new name: it
/// activates and holds the file. Broken archives are refused with nothing created. Needs
/// libvirtd and the guest image (`make setup guest-image`); run under the test lock.
@Suite("Backup and restore", .serialized)
final class BackupRestoreTests {
    static let stateRoot = "/var/lib/partctl"
    static let marker = "ptest-backup-data-4711"

    let connection: LibvirtConnection
    let pool: ImagePool
    let directory = NSTemporaryDirectory() + TestNames.unique("backup")

    init() throws {
        try LibvirtEventLoop.start()
        connection = try LibvirtConnection.open(uri: "qemu:///system")
        pool = ImagePool(connection: connection, stateRoot: Self.stateRoot)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// `PARTCTL_CONFIG_DIR` for this test's registry of managed systems (never /etc/partctl).
    var configDirectory: String { directory + "/config" }

    func partctl(_ arguments: String...) throws -> ProcessResult {
        try TestProcess.run(BuiltProducts.partctl, arguments, environment: ["PARTCTL_CONFIG_DIR": configDirectory], timeout: 240)
    }

    func volume(_ name: String) throws -> LibvirtStorageVolume? {
        try pool.existingPool()?.lookupVolume(name: name)
    }

    /// A 64 MiB disk image holding an empty ext4 file system, committed to the store with its base
    /// in the pool; removed after `body`.
    func withImage(_ body: (ImageManifest) throws -> Void) throws {
        let store = ImageStore(stateRoot: Self.stateRoot)
        let name = try ImageName(validating: TestNames.unique("bkimg"))
        let staging = try store.stage(name)
        let raw = directory + "/fs.raw"
        try #require(try TestProcess.run("/usr/bin/truncate", ["-s", "64M", raw]).status == 0)
        let mkfs = try TestProcess.run("/usr/sbin/mkfs.ext4", ["-q", "-F", raw])
        try #require(mkfs.status == 0, "\(mkfs)")
        let made = try TestProcess.run("/usr/bin/qemu-img", ["convert", "-q", "-f", "raw", "-O", "qcow2", raw, staging.disk])
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

    /// The marker file in the guest's disk: written (mounted, synced, unmounted) or read back.
    func disk(_ lpar: String, _ command: String, system: String = "local") throws -> ProcessResult {
        try partctl("login", lpar, "-m", system, "--", "/bin/sh", "-c",
                    "mkdir -p /mnt/d && mount -t ext4 /dev/vda /mnt/d && \(command); status=$?; umount /mnt/d; exit $status")
    }

    func sha256(_ file: String) throws -> String {
        String(try TestProcess.run("/usr/bin/sha256sum", [file]).stdout.prefix(64))
    }

    @Test func anLparIsBackedUpRunningRemovedAndRestoredUnderANewName() throws {
        try withImage { manifest in
            let source = TestNames.unique("bksrc")
            let restored = TestNames.unique("bkres")
            let refused = TestNames.unique("bkbad")
            defer {
                for name in [source, restored, refused] { removeTestPartition(name) }
            }
            let profile = directory + "/img.yaml"
            try "kind: lpar\nextends: lpar-minimal\nimage: \(manifest.name)\n".write(toFile: profile, atomically: true, encoding: .utf8)
            let defined = try partctl("define", source, "--profile", profile)
            try #require(defined.status == 0, "\(defined)")
            let activated = try partctl("activate", source)
            try #require(activated.status == 0, "\(activated)")
            let wrote = try disk(source, "echo \(Self.marker) > /mnt/d/hello && sync")
            try #require(wrote.status == 0, "\(wrote)")
            let originalUUID = try #require(try connection.lookupDomain(name: source)).uuidString

            // Running: refused without --force-running, nothing written.
            let archive = directory + "/lpar.tar"
            let running = try partctl("backup", source, "--to", archive)
            #expect(running.status == 1 && running.stderr.contains("--force-running"), "\(running)")
            #expect(!FileManager.default.fileExists(atPath: archive))
            let saved = try partctl("backup", source, "--to", archive, "--force-running")
            try #require(saved.status == 0, "\(saved)")
            // It prints the archive's own SHA-256, and the LPAR runs on (it was only paused).
            #expect(saved.stdout.hasPrefix(try sha256(archive) + "  " + archive), "\(saved)")
            #expect(try partctl("query", source, "-F", "state").stdout == "running\n")
            // A second backup never overwrites the first.
            let again = try partctl("backup", source, "--to", archive, "--force-running")
            #expect(again.status == 2 && again.stderr.contains("exists already"), "\(again)")
            let members = try TestProcess.run("/bin/tar", ["tf", archive]).stdout
            #expect(members == "manifest.json\ndomain.xml\ndisk.qcow2\n", "\(members)")

            let removed = try partctl("remove", source, "--force")
            try #require(removed.status == 0, "\(removed)")

            // A flipped byte: refused, one line, nothing created.
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: archive)))
            bytes[bytes.count / 2] ^= 0x20
            let corrupt = directory + "/corrupt.tar"
            try Data(bytes).write(to: URL(fileURLWithPath: corrupt))
            let bad = try partctl("restore", corrupt, "--as", refused)
            #expect(bad.status == 2, "\(bad)")
            #expect(bad.stderr.split(separator: "\n").count == 1 && bad.stderr.contains("corrupt.tar: "), "\(bad)")
            #expect(try connection.lookupDomain(name: refused) == nil)
            #expect(try volume("lpar-\(refused).qcow2") == nil)
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: Self.stateRoot + "/restore")) ?? []).isEmpty)

            let back = try partctl("restore", archive, "--as", restored)
            try #require(back.status == 0, "\(back)")
            let domain = try #require(try connection.lookupDomain(name: restored))
            #expect(domain.uuidString != originalUUID)
            // Its disk stands alone in the pool: no base behind it.
            let restoredDisk = try #require(try volume("lpar-\(restored).qcow2"))
            #expect(!(try restoredDisk.xmlDesc()).contains("<backingStore>"))
            // The name is taken now: refused, nothing more made.
            let taken = try partctl("restore", archive, "--as", restored)
            #expect(taken.status == 2 && taken.stderr.contains("already exists"), "\(taken)")

            let up = try partctl("activate", restored)
            try #require(up.status == 0, "\(up)")
            let read = try disk(restored, "cat /mnt/d/hello")
            #expect(read.status == 0 && read.stdout == Self.marker + "\n", "\(read)")
            try #require(try partctl("remove", restored, "--force").status == 0)

            // On the second managed system, under another name: the disk is uploaded into its pool.
            let sys2 = try SecondSystem.up(name: TestNames.unique("bksys"))
            defer { sys2.down() }
            try SystemRegistry(configDirectory: configDirectory, localURI: "qemu:///system")
                .add(ManagedSystem(name: "sys2", uri: sys2.uri))
            let remote = try partctl("restore", archive, "-m", "sys2", "--as", restored)
            try #require(remote.status == 0, "\(remote)")
            #expect(try connection.lookupDomain(name: restored) == nil)
            let remoteUp = try partctl("activate", restored, "-m", "sys2")
            try #require(remoteUp.status == 0, "\(remoteUp)")
            let remoteRead = try disk(restored, "cat /mnt/d/hello", system: "sys2")
            #expect(remoteRead.status == 0 && remoteRead.stdout == Self.marker + "\n", "\(remoteRead)")
            // Backed up from there (its disk downloaded through libvirt), the archive verifies here.
            let fromRemote = directory + "/remote.tar"
            let remoteSaved = try partctl("backup", restored, "-m", "sys2", "--to", fromRemote, "--force-running")
            #expect(remoteSaved.status == 0, "\(remoteSaved)")
            let listed = try TestProcess.run("/bin/tar", ["xOf", fromRemote, "manifest.json"]).stdout
            #expect(listed.contains("sys2") && listed.contains("disk.qcow2"), "\(listed)")
            let takenThere = try partctl("restore", fromRemote, "-m", "sys2", "--as", restored)
            #expect(takenThere.status == 2 && takenThere.stderr.contains("already exists"), "\(takenThere)")
            _ = try partctl("remove", restored, "-m", "sys2", "--force")
        }
    }

    @Test func aHostWparIsRestoredWithItsLayer() throws {
        let source = TestNames.unique("bkw")
        let restored = TestNames.unique("bkwres")
        defer { for name in [source, restored] { removeTestPartition(name) } }
        try #require(try partctl("define", source, "--profile", "wpar-system").status == 0)
        try #require(try partctl("activate", source).status == 0)
        // A file added, one of the base deleted (a whiteout), a directory made opaque, a symlink.
        let changed = try partctl("login", source, "--", "/bin/sh", "-c",
                                  "echo \(Self.marker) > /root/hello && rm /etc/hostname && mkdir -p /srv/a && ln -s ../../root/hello /srv/a/link")
        try #require(changed.status == 0, "\(changed)")
        let running = try partctl("backup", source, "--to", directory + "/w.tar")
        #expect(running.status == 1 && running.stderr.contains("running"), "\(running)")
        try #require(try partctl("shutdown", source, "--within", "10", "--force").status == 0)
        let saved = try partctl("backup", source, "--to", directory + "/w.tar")
        try #require(saved.status == 0, "\(saved)")
        #expect(try TestProcess.run("/bin/tar", ["tf", directory + "/w.tar"]).stdout == "manifest.json\ndefinition.json\nlayer.tar\n")
        try #require(try partctl("remove", source).status == 0)

        let back = try partctl("restore", directory + "/w.tar", "--as", restored)
        try #require(back.status == 0, "\(back)")
        try #require(try partctl("activate", restored).status == 0)
        let read = try partctl("login", restored, "--", "/bin/sh", "-c", "cat /root/hello /srv/a/link; test -e /etc/hostname && echo present")
        #expect(read.stdout == Self.marker + "\n" + Self.marker + "\n", "\(read)")
        let taken = try partctl("restore", directory + "/w.tar", "--as", restored)
        #expect(taken.status == 2 && taken.stderr.contains("already exists"), "\(taken)")
    }
}
