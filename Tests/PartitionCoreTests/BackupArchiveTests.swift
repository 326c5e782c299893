import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import PartitionCore

/// Backup archives as `restore` reads them (VerifiedArchive, LayerEntryRule): a good archive is
/// staged member by member; a corrupt, tampered or hostile one is refused with one line naming
/// what is wrong, and nothing is left in the staging root. Hermetic: files in a temporary directory.
@Suite final class BackupArchiveTests {
    let directory: String
    let stagingRoot: String

    init() throws {
        directory = NSTemporaryDirectory() + TestNames.unique("backup")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        stagingRoot = directory + "/staging"
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    /// An LPAR archive as `backup` writes it: the manifest, domain.xml and disk.qcow2.
    func goodArchive(_ name: String = "good.tar", xml: String = "<domain/>", disk: [UInt8] = Array(repeating: 7, count: 5000)) throws -> String {
        let members = [("domain.xml", Array(xml.utf8)), ("disk.qcow2", disk)]
        var listed: [BackupManifest.Member] = []
        var staged: [(name: String, path: String)] = []
        for (member, bytes) in members {
            let path = directory + "/" + member
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let (digest, size) = try PartitionManager.sha256(ofFile: path)
            listed.append(BackupManifest.Member(name: member, size: size, sha256: digest))
            staged.append((member, path))
        }
        let file = directory + "/" + name
        let destination = try ArchiveDestination(file)
        defer { destination.discard() }
        _ = try destination.write(manifest: manifest(listed), members: staged)
        return file
    }

    func manifest(_ members: [BackupManifest.Member]) -> BackupManifest {
        BackupManifest(format: BackupManifest.formatName, version: 1, kind: .lpar, name: "ptest-lp", system: "local",
                       created: 0, state: "defined", consistency: "stopped (clean)", profile: "lpar-minimal",
                       nested: [], images: [], members: members)
    }

    /// An archive written entry by entry, for the hostile ones.
    func craft(_ name: String, _ body: (inout TarWriter) throws -> Void) throws -> String {
        let file = directory + "/" + name
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        try #require(fd >= 0)
        defer { close(fd) }
        var writer = TarWriter(fd: fd)
        try body(&writer)
        return file
    }

    func refusal(_ file: String) -> PartitionError? {
        do {
            let archive = try VerifiedArchive.read(file, stagingRoot: stagingRoot)
            archive.discard()
            return nil
        } catch {
            return error
        }
    }

    func stagingIsEmpty() -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: stagingRoot)) ?? []).isEmpty
    }

    func patch(_ file: String, at offset: Int, _ bytes: [UInt8]) throws {
        var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        data.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
        try Data(data).write(to: URL(fileURLWithPath: file))
    }

    /// Where a member's data starts in the archive (the block after its header).
    func dataOffset(of member: String, in file: String) throws -> Int {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file)))
        var offset = 0
        while offset + 512 <= data.count {
            let name = String(decoding: data[offset..<(offset + 100)].prefix { $0 != 0 }, as: UTF8.self)
            let sizeText = String(decoding: data[(offset + 124)..<(offset + 135)], as: UTF8.self)
            let size = Int(sizeText, radix: 8) ?? 0
            if name == member { return offset + 512 }
            offset += 512 + (size + 511) / 512 * 512
        }
        throw PartitionError(.notFound, "no member \(member)")
    }

    @Test func aGoodArchiveIsStagedWhole() throws {
        let file = try goodArchive()
        let archive = try VerifiedArchive.read(file, stagingRoot: stagingRoot)
        defer { archive.discard() }
        #expect(archive.manifest.name == "ptest-lp")
        #expect(Set(archive.members.keys) == ["domain.xml", "disk.qcow2"])
        #expect(try archive.bytes(of: "domain.xml", limit: 100) == Array("<domain/>".utf8))
        // GNU tar reads it as a plain tar, manifest first.
        let listed = try TestProcess.run("/bin/tar", ["tf", file])
        #expect(listed.stdout == "manifest.json\ndomain.xml\ndisk.qcow2\n", "\(listed)")
    }

    @Test func aFlippedByteInAMemberIsRefusedByItsDigest() throws {
        let file = try goodArchive()
        let offset = try dataOffset(of: "disk.qcow2", in: file) + 1234
        try patch(file, at: offset, [8])
        let error = try #require(refusal(file))
        #expect(error.code == .invalidArgument)
        #expect(error.message.hasPrefix("good.tar: member disk.qcow2 has SHA-256 "), "\(error.message)")
        #expect(error.message.contains(", the manifest says "), "\(error.message)")
        #expect(stagingIsEmpty())
    }

    @Test func aFlippedByteInAHeaderIsRefusedByItsChecksum() throws {
        let file = try goodArchive()
        let header = try dataOffset(of: "domain.xml", in: file) - 512
        try patch(file, at: header + 3, [UInt8(ascii: "X")])
        let error = try #require(refusal(file))
        #expect(error.message.contains("checksum does not match"), "\(error.message)")
        #expect(stagingIsEmpty())
    }

    @Test func aMemberChangedWithoutItsManifestIsRefused() throws {
        let file = try goodArchive(xml: "<domain><name>a</name></domain>")
        let offset = try dataOffset(of: "domain.xml", in: file)
        try patch(file, at: offset, Array("<domain><name>b</name></domain>".utf8))
        let error = try #require(refusal(file))
        #expect(error.message.hasPrefix("good.tar: member domain.xml has SHA-256 "), "\(error.message)")
        #expect(stagingIsEmpty())
    }

    @Test func aMemberAndManifestChangedTogetherStillFailOnAThirdMember() throws {
        // The tamperer rewrote domain.xml and its manifest entry, and changed the disk too.
        let xml = Array("<domain><evil/></domain>".utf8)
        let xmlPath = directory + "/evil.xml"
        try Data(xml).write(to: URL(fileURLWithPath: xmlPath))
        let (xmlDigest, xmlSize) = try PartitionManager.sha256(ofFile: xmlPath)
        let disk = [UInt8](repeating: 7, count: 5000)
        let diskPath = directory + "/disk-original"
        try Data(disk).write(to: URL(fileURLWithPath: diskPath))
        let (diskDigest, diskSize) = try PartitionManager.sha256(ofFile: diskPath)
        let file = try craft("both.tar") { writer in
            let manifest = manifest([BackupManifest.Member(name: "domain.xml", size: xmlSize, sha256: xmlDigest),
                                     BackupManifest.Member(name: "disk.qcow2", size: diskSize, sha256: diskDigest)])
            try writer.file(TarWriter.Entry(name: "manifest.json", type: .file), bytes: try manifest.encoded())
            try writer.file(TarWriter.Entry(name: "domain.xml", type: .file), bytes: xml)
            try writer.file(TarWriter.Entry(name: "disk.qcow2", type: .file), bytes: [UInt8](repeating: 9, count: 5000))
            try writer.finish()
        }
        let error = try #require(refusal(file))
        #expect(error.message.hasPrefix("both.tar: member disk.qcow2 has SHA-256 "), "\(error.message)")
        #expect(stagingIsEmpty())
    }

    @Test func pathEscapesLinksAndUnlistedMembersAreRefused() throws {
        let xmlPath = directory + "/d.xml"
        try Data("<domain/>".utf8).write(to: URL(fileURLWithPath: xmlPath))
        let (digest, size) = try PartitionManager.sha256(ofFile: xmlPath)
        let listed = [BackupManifest.Member(name: "domain.xml", size: size, sha256: digest)]
        let cases: [(String, TarWriter.Entry, String)] = [
            ("escape.tar", TarWriter.Entry(name: "../domain.xml", type: .file), "whose '..' climbs out"),
            ("absolute.tar", TarWriter.Entry(name: "/etc/domain.xml", type: .file), "an absolute path"),
            ("link.tar", TarWriter.Entry(name: "domain.xml", type: .symlink, link: "/etc/shadow"), "a symbolic link; a backup holds only regular files"),
            ("unlisted.tar", TarWriter.Entry(name: "extra.bin", type: .file), "which its manifest does not list"),
            ("nested.tar", TarWriter.Entry(name: "dir/domain.xml", type: .file), "in a directory"),
        ]
        for (name, entry, expected) in cases {
            let file = try craft(name) { writer in
                try writer.file(TarWriter.Entry(name: "manifest.json", type: .file), bytes: try manifest(listed).encoded())
                if entry.type == .file { try writer.file(entry, bytes: Array("<domain/>".utf8)) } else { try writer.header(entry) }
                try writer.finish()
            }
            let error = try #require(refusal(file), "\(name)")
            #expect(error.code == .invalidArgument)
            #expect(error.message.hasPrefix("\(name): ") && error.message.contains(expected), "\(name): \(error.message)")
        }
        #expect(stagingIsEmpty())
    }

    @Test func aMissingMemberAManifestNotFirstTruncationAndTrailingDataAreRefused() throws {
        let good = try goodArchive()
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: good)))
        let truncated = directory + "/truncated.tar"
        try Data(data.prefix(data.count - 2048)).write(to: URL(fileURLWithPath: truncated))
        #expect(refusal(truncated)?.message.contains("truncated") == true, "\(String(describing: refusal(truncated)))")
        let trailing = directory + "/trailing.tar"
        try Data(data + [UInt8](repeating: 0, count: 511) + [1]).write(to: URL(fileURLWithPath: trailing))
        #expect(refusal(trailing)?.message.contains("after its end-of-archive marker") == true)

        let xmlPath = directory + "/d.xml"
        try Data("<domain/>".utf8).write(to: URL(fileURLWithPath: xmlPath))
        let (digest, size) = try PartitionManager.sha256(ofFile: xmlPath)
        let missing = try craft("missing.tar") { writer in
            let manifest = manifest([BackupManifest.Member(name: "domain.xml", size: size, sha256: digest),
                                     BackupManifest.Member(name: "disk.qcow2", size: 1, sha256: String(repeating: "0", count: 64))])
            try writer.file(TarWriter.Entry(name: "manifest.json", type: .file), bytes: try manifest.encoded())
            try writer.file(TarWriter.Entry(name: "domain.xml", type: .file), bytes: Array("<domain/>".utf8))
            try writer.finish()
        }
        #expect(refusal(missing)?.message == "missing.tar: its manifest lists the member disk.qcow2, which the archive does not hold.")
        let notFirst = try craft("notfirst.tar") { writer in
            try writer.file(TarWriter.Entry(name: "domain.xml", type: .file), bytes: Array("<domain/>".utf8))
            try writer.finish()
        }
        #expect(refusal(notFirst)?.message.contains("not manifest.json") == true)
        let badManifest = try craft("badmanifest.tar") { writer in
            try writer.file(TarWriter.Entry(name: "manifest.json", type: .file), bytes: Array(#"{"format":"partctl-backup","version":1,"extra":true}"#.utf8))
            try writer.finish()
        }
        #expect(refusal(badManifest)?.message.hasPrefix("badmanifest.tar: its manifest is not one partctl reads") == true,
                "\(String(describing: refusal(badManifest)))")
        let wrongSize = try craft("size.tar") { writer in
            try writer.file(TarWriter.Entry(name: "manifest.json", type: .file),
                            bytes: try manifest([BackupManifest.Member(name: "domain.xml", size: size + 1, sha256: digest)]).encoded())
            try writer.file(TarWriter.Entry(name: "domain.xml", type: .file), bytes: Array("<domain/>".utf8))
            try writer.finish()
        }
        #expect(refusal(wrongSize)?.message == "size.tar: member domain.xml is \(size) bytes, the manifest says \(size + 1).")
        #expect(stagingIsEmpty())
    }

    @Test func layerEntriesAreCheckedLikeImageLayers() throws {
        let cases: [(TarWriter.Entry, String)] = [
            (TarWriter.Entry(name: "../../etc/cron.d/x", type: .file), "climbs out of the layer"),
            (TarWriter.Entry(name: "/etc/passwd", type: .file), "absolute entry"),
            (TarWriter.Entry(name: "etc/link", type: .symlink, link: "../../../../etc/shadow"), "climbs out of the WPAR's root"),
            (TarWriter.Entry(name: "etc/hard", type: .hardLink, link: "/etc/shadow"), "outside the layer"),
            (TarWriter.Entry(name: "etc/big", type: .file, uid: 70000), "beyond a WPAR's 65536 IDs"),
            (TarWriter.Entry(name: "etc/.wh...", type: .file), "would remove '..'"),
        ]
        for (index, (entry, expected)) in cases.enumerated() {
            let file = try craft("layer\(index).tar") { writer in
                try writer.header(TarWriter.Entry(name: "etc/", type: .directory, mode: 0o755))
                if entry.type == .file { try writer.file(entry, bytes: [1, 2, 3]) } else { try writer.header(entry) }
                try writer.finish()
            }
            let fd = open(file, O_RDONLY)
            defer { close(fd) }
            #expect(throws: PartitionError.self) { try LayerEntryRule.checkStream(fd: fd, label: "a.tar: member layer.tar") }
            lseek(fd, 0, SEEK_SET)
            do {
                try LayerEntryRule.checkStream(fd: fd, label: "a.tar: member layer.tar")
            } catch {
                #expect(error.message.hasPrefix("a.tar: member layer.tar has ") && error.message.contains(expected), "\(error.message)")
            }
        }
        // A device node, written by hand (TarWriter makes none).
        var block = TarWriter.block(name: Array("dev/sda".utf8), prefix: [], type: UInt8(ascii: "4"), size: 0, mode: 0o600,
                                    uid: 0, gid: 0, mtime: 0, link: [])
        TarWriter.seal(&block)
        let device = directory + "/device.tar"
        try Data(block + [UInt8](repeating: 0, count: 1024)).write(to: URL(fileURLWithPath: device))
        let fd = open(device, O_RDONLY)
        defer { close(fd) }
        do {
            try LayerEntryRule.checkStream(fd: fd, label: "a.tar: member layer.tar")
            Issue.record("a device node was accepted")
        } catch {
            #expect(error.message.contains("device node 'dev/sda'"), "\(error.message)")
        }
    }
}
