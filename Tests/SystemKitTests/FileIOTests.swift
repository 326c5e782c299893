import Foundation
import Glibc
import PartitionModel
import Testing
@testable import SystemKit

@Suite("SystemKit file I/O")
struct FileIOTests {
    private func temporaryFile(_ bytes: [UInt8]) throws -> String {
        var template = Array("/tmp/ptest-systemkit-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(FileIO.writeAll(fd, bytes))
        return String(cString: template)
    }

    @Test func boundedReadRefusesOrTruncatesALargerFile() throws {
        let path = try temporaryFile(Array(repeating: UInt8(ascii: "x"), count: 40_000))
        defer { unlink(path) }
        #expect(FileIO.readFile(path, limit: 50_000) == .success(Array(repeating: UInt8(ascii: "x"), count: 40_000)))
        #expect(FileIO.readFile(path, limit: 1_000) == .failure(SystemErrno(EFBIG)))
        #expect(FileIO.readFile(path, limit: 1_000, truncating: true) == .success(Array(repeating: UInt8(ascii: "x"), count: 1_000)))
        #expect(FileIO.readFile(path + "-missing", limit: 10) == .failure(SystemErrno(ENOENT)))
    }

    @Test func writeAllFillsAPipeInPieces() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        // More than a pipe holds at once: writeAll must wait for the reader, not stop short.
        let payload = (0..<300_000).map { UInt8(truncatingIfNeeded: $0) }
        let writer = fds[1]
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { _ = FileIO.writeAll(writer, payload); close(writer); done.signal() }
        let read = FileIO.readAll(fds[0], limit: 1 << 20)
        done.wait()
        close(fds[0])
        #expect(read == .success(payload))
    }

    @Test func errnoMapsToOneErrorShape() {
        #expect(POSIX.failure("open x", errno: EACCES).code == .permissionDenied)
        let error = POSIX.failure("open x", errno: ENOENT)
        #expect(error.code == .system)
        #expect(error.message == "Could not open x: No such file or directory (errno 2).")
    }

    @Test func atomicWriteReplacesAndLeavesNoTemporary() throws {
        let directory = "/tmp/ptest-systemkit-atomic-\(getpid())"
        mkdir(directory, 0o700)
        defer { AtomicFile.removeTemporaries(in: directory); unlink(directory + "/f"); rmdir(directory) }
        try AtomicFile.write(Array("one".utf8), to: directory + "/f", mode: 0o600, durable: false)
        try AtomicFile.write(Array("two".utf8), to: directory + "/f", mode: 0o600, durable: false)
        #expect(try AtomicFile.read(directory + "/f", limit: 16) == Array("two".utf8))
        #expect(AtomicFile.removeTemporaries(in: directory) == 0)
    }

    @Test func bootIDIsTheKernels() {
        let text = FileIO.readText("/proc/sys/kernel/random/boot_id") ?? ""
        #expect(BootID.current() == String(text.filter { !$0.isWhitespace }))
        #expect(BootID.current().count == 36)
    }
}

