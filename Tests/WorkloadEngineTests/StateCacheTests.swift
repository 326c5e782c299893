import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine
import SystemKit

/// What a long-lived engine (partagent) keeps between commands: the parsed mount table while it
/// stays unchanged, and decoded state files while they stay the same version.
@Suite(.serialized) struct StateCacheTests {
    private static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/ptest-cache-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw PartitionError(.system, "mkdtemp failed") }
        return String(cString: made)
    }

    @Test func mountTableWatchSeesMountAndUnmount() throws {
        let directory = try Self.temporaryDirectory()
        defer { rmdir(directory) }
        let watch = try #require(MountTableWatch())
        #expect(!watch.changed())
        try #require(mount("ptest", directory, "tmpfs", 0, nil) == 0)
        var mounted = true
        defer { if mounted { umount2(directory, Int32(MNT_DETACH)) } }
        #expect(watch.changed())
        #expect(!watch.changed())  // said once per change
        #expect(umount2(directory, Int32(MNT_DETACH)) == 0)
        mounted = false
        #expect(watch.changed())
    }

    @Test func currentLayoutIsTheDetectedOneAcrossMounts() throws {
        #expect(try CgroupLayout.current() == CgroupLayout.detect())
        #expect(try CgroupLayout.current() == CgroupLayout.detect())
        let directory = try Self.temporaryDirectory()
        defer { rmdir(directory) }
        try #require(mount("ptest", directory, "tmpfs", 0, nil) == 0)
        defer { umount2(directory, Int32(MNT_DETACH)) }
        #expect(try CgroupLayout.current() == CgroupLayout.detect())
    }

    @Test func decodedFileIsDecodedOncePerVersion() throws {
        let directory = try Self.temporaryDirectory()
        defer { _ = try? HostSystem.removeTree(directory) }
        let file = directory + "/state"
        let cache = DecodedFileCache<String>()
        var decodes = 0
        func read() throws -> String? {
            try cache.value(at: file, limit: 64) { (bytes) throws(PartitionError) -> String in
                decodes += 1
                return String(decoding: bytes, as: UTF8.self)
            }
        }
        #expect(try read() == nil)
        try AtomicFile.write(Array("one".utf8), to: file, mode: 0o600, durable: false)
        #expect(try read() == "one")
        #expect(try read() == "one")
        #expect(decodes == 1)
        // Replaced by rename (a new inode), then rewritten in place with the same length.
        try AtomicFile.write(Array("two".utf8), to: file, mode: 0o600, durable: false)
        #expect(try read() == "two")
        #expect(decodes == 2)
        // File times move in clock ticks: an in-place rewrite of the same length within one tick
        // would pass for the same version (partctl never rewrites in place). Time passing is the point.
        HostSystem.sleep(seconds: 0.02)
        let fd = open(file, O_WRONLY | O_TRUNC | O_CLOEXEC)
        try #require(fd >= 0)
        _ = write(fd, "six", 3)
        close(fd)
        #expect(try read() == "six")
        #expect(decodes == 3)
        unlink(file)
        #expect(try read() == nil)
        try AtomicFile.write(Array(repeating: UInt8(ascii: "x"), count: 65), to: file, mode: 0o600, durable: false)
        #expect(throws: PartitionError.self) { try read() }
    }
}
