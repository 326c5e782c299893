import AgentProtocol
import Foundation
import Glibc
import PartitionModel
import Testing
import WorkloadEngine

/// The guest side of relocating a nested WPAR, against two real partagents on the host (--socket,
/// state directories of their own): a layer exported by one is imported by the other with its
/// files, modes, owners, links, whiteouts and opaque directories; an archive another guest could
/// have crafted is refused without writing outside the layer.
@Suite(.serialized) final class LayerMoveAgentTests {
    let source: SocketAgent
    let destination: SocketAgent
    let name = try! PartitionName("ptest-layer")

    init() throws {
        source = try SocketAgent("layer-src")
        destination = try SocketAgent("layer-dst")
    }

    deinit {
        for agent in [source, destination] {
            if let link = try? SocketLink(path: agent.socketPath, timeout: 2) {
                _ = try? link.conversation.call(Agent.Remove.self, .init(name: name, force: true), timeout: .seconds(30))
            }
            agent.stop()
        }
    }

    func spec() throws -> WorkloadSpec {
        WorkloadSpec(name: name, kind: .system, root: .overlay(lower: ["/var/lib/partctl/rootfs/busybox"], upper: nil),
                     command: ["/bin/busybox", "init"], limits: WorkloadLimits(memoryMax: 64 << 20, pidsMax: 32))
    }

    func upper(_ agent: SocketAgent) -> String { "\(agent.directory)/definitions/wpars/\(name)/upper" }

    /// Export from `from`, chunked as the host does (small chunks: several round trips), written into `to`.
    func copy(from: AgentConversation, to: AgentConversation, chunk: Int = 4096) throws -> Agent.Export.Result {
        let export = try from.call(Agent.Export.self, .init(name: name), timeout: .seconds(30))
        guard export.layer, let transfer = export.transfer else { return export }
        var offset: UInt64 = 0
        var target: String?
        while offset < export.bytes {
            let length = Int(min(UInt64(chunk), export.bytes - offset))
            let data = try from.call(Agent.TransferRead.self, .init(transfer: transfer, offset: offset, length: length)).data
            target = try to.call(Agent.TransferWrite.self, .init(transfer: target, offset: offset, data: data)).transfer
            offset += UInt64(length)
        }
        try to.call(Agent.Import.self, .init(name: name, transfer: target!, bytes: export.bytes, checksum: export.checksum))
        return export
    }

    @Test func aLayerMovesWithItsFilesLinksWhiteoutsAndOwners() throws {
        let from = try SocketLink(path: source.socketPath).conversation
        let to = try SocketLink(path: destination.socketPath).conversation
        try from.call(Agent.Define.self, .init(name: name, spec: spec()))
        // The layer as a WPAR leaves it: a file, a setuid file owned by another user, a link, a
        // whiteout hiding a file of the base, an opaque directory, and a file too big for one chunk.
        let layer = upper(source)
        try FileManager.default.createDirectory(atPath: layer + "/data/deep", withIntermediateDirectories: true)
        try "moved\n".write(toFile: layer + "/data/deep/marker", atomically: false, encoding: .utf8)
        try "tool".write(toFile: layer + "/data/tool", atomically: false, encoding: .utf8)
        #expect(chown(layer + "/data/tool", 1000, 1000) == 0 && chmod(layer + "/data/tool", 0o4750) == 0)
        #expect(symlink("/etc/passwd", layer + "/data/link") == 0)
        try FileManager.default.createDirectory(atPath: layer + "/etc", withIntermediateDirectories: true)
        #expect(mknod(layer + "/etc/hostname", S_IFCHR, 0) == 0)
        try FileManager.default.createDirectory(atPath: layer + "/usr", withIntermediateDirectories: true)
        #expect(TestXattr.set(layer + "/usr", "trusted.overlay.opaque", "y"))
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        try Data(big).write(to: URL(fileURLWithPath: layer + "/data/big"))

        try to.call(Agent.Define.self, .init(name: name, spec: spec()))
        let export = try copy(from: from, to: to)
        #expect(export.layer && export.entries == 10, "\(export)")

        let moved = upper(destination)
        #expect(try String(contentsOfFile: moved + "/data/deep/marker", encoding: .utf8) == "moved\n")
        var status = stat()
        #expect(lstat(moved + "/data/tool", &status) == 0 && status.st_uid == 1000 && status.st_mode & 0o7777 == 0o4750)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: moved + "/data/link") == "/etc/passwd")
        #expect(lstat(moved + "/etc/hostname", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR && status.st_rdev == 0)
        #expect(TestXattr.get(moved + "/usr", "trusted.overlay.opaque") == "y")
        #expect(try Data(contentsOf: URL(fileURLWithPath: moved + "/data/big")) == Data(big))
        // The transfer is gone in the destination once imported; a second import finds a layer there.
        let again = try from.call(Agent.Export.self, .init(name: name))
        #expect(throws: PartitionError.self) {
            try to.call(Agent.Import.self, .init(name: self.name, transfer: again.transfer!, bytes: again.bytes, checksum: again.checksum))
        }
    }

    @Test func aCraftedArchiveIsRefusedAndWritesNothingOutsideTheLayer() throws {
        let to = try SocketLink(path: destination.socketPath).conversation
        try to.call(Agent.Define.self, .init(name: name, spec: spec()))
        let outside = destination.directory + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)

        // A link in the layer, then a file "through" it; and a name with "..".
        let throughLink = CraftedArchive.root + CraftedArchive.entry("l", "escape", link: outside) + CraftedArchive.entry("f", "escape/planted", data: [1])
        let dotDot = CraftedArchive.root + CraftedArchive.entry("f", "../planted", data: [1])
        for (label, body, count) in [("through a link", throughLink, UInt32(3)), ("with ..", dotDot, UInt32(2))] {
            let archive = CraftedArchive.magic + body + CraftedArchive.end(count)
            var checksum = FNV1a64()
            checksum.update(archive)
            let transfer = try to.call(Agent.TransferWrite.self, .init(transfer: nil, offset: 0, data: Base64.encode(archive))).transfer
            #expect(throws: PartitionError.self, "\(label)") {
                try to.call(Agent.Import.self, .init(name: self.name, transfer: transfer, bytes: UInt64(archive.count), checksum: checksum.hex))
            }
            _ = try? to.call(Agent.TransferDiscard.self, .init(transfer: transfer))
            #expect(access(outside + "/planted", F_OK) != 0, "\(label)")
            #expect(access(destination.directory + "/definitions/wpars/planted", F_OK) != 0, "\(label)")
            #expect(access(upper(destination), F_OK) != 0, "\(label): no layer is left behind")
        }
        // A checksum that does not match is refused before anything is unpacked.
        let body = CraftedArchive.root
        let archive = CraftedArchive.magic + body + CraftedArchive.end(1)
        let transfer = try to.call(Agent.TransferWrite.self, .init(transfer: nil, offset: 0, data: Base64.encode(archive))).transfer
        #expect(throws: PartitionError.self) {
            try to.call(Agent.Import.self, .init(name: self.name, transfer: transfer, bytes: UInt64(archive.count), checksum: "0123456789abcdef"))
        }
        #expect(access(upper(destination), F_OK) != 0)
    }
}

/// Archives written by hand in the agent's layer format (partagent's LayerArchive), as a hostile
/// guest could write them.
enum CraftedArchive {
    static let magic = Array("PWLA1\n".utf8)
    static var root: [UInt8] { entry("d", "") }
    static func end(_ count: UInt32) -> [UInt8] { [UInt8(ascii: "E")] + le(count) }

    static func le<T: FixedWidthInteger>(_ value: T) -> [UInt8] { withUnsafeBytes(of: value.littleEndian) { Array($0) } }

    static func entry(_ type: Character, _ path: String, data: [UInt8]? = nil, link: String? = nil) -> [UInt8] {
        var bytes = [type.asciiValue!] + le(UInt32(0o755)) + le(UInt32(0)) + le(UInt32(0)) + le(UInt64(0)) + le(UInt32(0))
        bytes += le(UInt16(path.utf8.count)) + Array(path.utf8) + le(UInt16(0))
        if let data { bytes += le(UInt64(data.count)) + data }
        if let link { bytes += le(UInt16(link.utf8.count)) + Array(link.utf8) }
        return bytes
    }
}

/// setxattr and getxattr by path (<sys/xattr.h> is not in Swift's Glibc module).
enum TestXattr {
    private typealias Set = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32
    private typealias Get = @convention(c) (UnsafePointer<CChar>, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int

    static func set(_ path: String, _ name: String, _ value: String) -> Bool {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setxattr") else { return false }
        let call = unsafeBitCast(symbol, to: Set.self)
        return Array(value.utf8).withUnsafeBytes { call(path, name, $0.baseAddress, $0.count, 0) } == 0
    }

    static func get(_ path: String, _ name: String) -> String? {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "getxattr") else { return nil }
        let call = unsafeBitCast(symbol, to: Get.self)
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = buffer.withUnsafeMutableBytes { call(path, name, $0.baseAddress, $0.count) }
        return count >= 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil
    }
}
