import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine
import SystemKit

/// A temporary directory named ptest-…, removed with everything in it when the test ends.
final class ScratchDirectory {
    let path: String

    init(_ label: String) throws {
        path = "/tmp/ptest-\(label)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(path, 0o700) == 0 else { throw TestFailure("mkdir \(path): errno \(errno)") }
    }

    deinit { _ = try? TestChild.run(["rm", "-rf", path]) }

    func entries() -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

@Suite("Atomic files")
struct RuntimeStateAtomicFileTests {
    @Test("write then read gives the bytes back with the mode asked for, whatever the umask")
    func roundTrip() throws {
        let scratch = try ScratchDirectory("atomic")
        let path = "\(scratch.path)/state.json"
        #expect(try AtomicFile.read(path, limit: 1024) == nil)
        let previous = umask(0o077)
        defer { umask(previous) }
        try AtomicFile.write(Array("{\"state\":\"running\"}".utf8), to: path, mode: 0o644)
        #expect(try AtomicFile.read(path, limit: 1024) == Array("{\"state\":\"running\"}".utf8))
        var status = stat()
        #expect(stat(path, &status) == 0 && status.st_mode & 0o777 == 0o644)
        try AtomicFile.write([], to: path, mode: 0o600, durable: false)
        #expect(try AtomicFile.read(path, limit: 1024) == [])
        #expect(scratch.entries() == ["state.json"])
    }

    @Test("readers only ever see the old or the new contents, never a mix or a partial file")
    func noTornReads() async throws {
        let scratch = try ScratchDirectory("atomic-race")
        let path = "\(scratch.path)/state"
        let size = 64 * 1024
        let olds = [UInt8](repeating: UInt8(ascii: "a"), count: size)
        let news = [UInt8](repeating: UInt8(ascii: "b"), count: size)
        try AtomicFile.write(olds, to: path, mode: 0o600, durable: false)
        let bad = try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                for round in 0..<150 {
                    // A few durable writes too: fsync must not open a window either.
                    try AtomicFile.write(round % 2 == 0 ? news : olds, to: path, mode: 0o600, durable: round % 50 == 0)
                }
                return 0
            }
            for _ in 0..<2 {
                group.addTask {
                    var torn = 0
                    for _ in 0..<300 {
                        let contents = try #require(try AtomicFile.read(path, limit: size))
                        if !(Self.same(contents, olds) || Self.same(contents, news)) { torn += 1 }
                    }
                    return torn
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(bad == 0)
        #expect(scratch.entries() == ["state"])  // no temporaries left behind
    }

    private static func same(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        left.count == right.count && (left.isEmpty || left.withUnsafeBytes { l in right.withUnsafeBytes { r in memcmp(l.baseAddress!, r.baseAddress!, l.count) == 0 } })
    }

    @Test("a failed replace leaves the target untouched and no temporary behind")
    func failedReplace() throws {
        let scratch = try ScratchDirectory("atomic-fail")
        let target = "\(scratch.path)/busy"
        #expect(mkdir(target, 0o700) == 0)  // rename(2) of a file over a directory fails
        let error = #expect(throws: PartitionError.self) { try AtomicFile.write(Array("x".utf8), to: target, mode: 0o600) }
        #expect(error?.message.hasPrefix("Could not replace \(target): ") == true)
        #expect(scratch.entries() == ["busy"])
    }

    @Test("a file above the limit is refused, not read")
    func limit() throws {
        let scratch = try ScratchDirectory("atomic-limit")
        let path = "\(scratch.path)/big"
        try AtomicFile.write([UInt8](repeating: 1, count: 100_000), to: path, mode: 0o600, durable: false)
        let error = #expect(throws: PartitionError.self) { try AtomicFile.read(path, limit: 4096) }
        #expect(error?.code == .invalidState)
    }

    @Test("temporaries a killed writer left are cleared; other files stay")
    func leftovers() throws {
        let scratch = try ScratchDirectory("atomic-leftover")
        try AtomicFile.write(Array("keep".utf8), to: "\(scratch.path)/state", mode: 0o600, durable: false)
        for name in [".state.tmp-1x2y3z", ".state.tmp-abc"] {
            let fd = open("\(scratch.path)/\(name)", O_CREAT | O_WRONLY, 0o600)
            close(fd)
        }
        #expect(AtomicFile.removeTemporaries(in: scratch.path) == 2)
        #expect(scratch.entries() == ["state"])
    }
}

@Suite("Partition locks")
struct RuntimeStateLockTests {
    @Test("a lock held by another process makes a command busy at once, or after its timeout")
    func contentionAcrossProcesses() throws {
        let scratch = try ScratchDirectory("lock")
        let path = "\(scratch.path)/locks/tools.lock"
        _ = try PartitionLock.acquire(path: path, wait: false, timeout: nil)  // makes the directory and file, then releases
        // Another command: util-linux flock holding the lock while it sleeps (in the same process).
        let holder = try TestChild(["/usr/bin/flock", "--exclusive", "--no-fork", path, "/bin/sleep", "30"])
        let heldByOther = eventually {
            (try? PartitionLock.acquire(path: path, wait: false, timeout: nil)) == nil
        }
        #expect(heldByOther)

        let error = #expect(throws: PartitionError.self) { try PartitionLock.acquire(path: path, wait: false, timeout: nil) }
        #expect(error?.code == .busy)
        #expect(error?.message == "tools is busy: another partctl command is working on it.")

        let start = SystemCall.monotonicSeconds()
        #expect(throws: PartitionError.self) { try PartitionLock.acquire(path: path, wait: true, timeout: 0.2) }
        #expect(SystemCall.monotonicSeconds() - start >= 0.2)

        kill(holder.pid, SIGKILL)
        holder.wait()
        // The lock dies with its holder, however it dies.
        let lock = try PartitionLock.acquire(path: path, wait: true, timeout: 2)
        #expect(lock.path == path)
    }

    @Test("a waiting command gets the lock when the holder releases it")
    func waitsForRelease() throws {
        let scratch = try ScratchDirectory("lock-wait")
        let path = "\(scratch.path)/web.lock"
        _ = try PartitionLock.acquire(path: path, wait: false, timeout: nil)  // created, then released
        let holder = try TestChild(["/usr/bin/flock", "--exclusive", "--no-fork", path, "/bin/sleep", "0.3"])
        #expect(eventually { (try? PartitionLock.acquire(path: path, wait: false, timeout: nil)) == nil })
        let lock = try PartitionLock.acquire(path: path, wait: true, timeout: 5)
        withExtendedLifetime(lock) {}
        holder.wait()
    }

    @Test("two locks on one partition in one process exclude each other too; releasing frees it")
    func inProcess() throws {
        let scratch = try ScratchDirectory("lock-local")
        let path = "\(scratch.path)/a.lock"
        var first: PartitionLock? = try PartitionLock.acquire(path: path, wait: false, timeout: nil)
        #expect(throws: PartitionError.self) { try PartitionLock.acquire(path: path, wait: false, timeout: nil) }
        withExtendedLifetime(first) {}
        first = nil
        _ = try PartitionLock.acquire(path: path, wait: false, timeout: nil)
    }

    @Test("a lock file its holder removed gives way to a fresh lock for the next command")
    func removedByHolder() throws {
        let scratch = try ScratchDirectory("lock-remove")
        let path = "\(scratch.path)/gone.lock"
        let holder = try PartitionLock.acquire(path: path, wait: false, timeout: nil)
        holder.removeFile()
        // A newcomer creates a fresh file and gets it; the old inode no longer counts.
        let newcomer = try PartitionLock.acquire(path: path, wait: false, timeout: nil)
        #expect(throws: PartitionError.self) { try PartitionLock.acquire(path: path, wait: false, timeout: nil) }
        withExtendedLifetime((holder, newcomer)) {}
    }
}

@Suite("Runtime paths")
struct RuntimeStatePathsTests {
    @Test("directories are made with their modes, parents included, and again without complaint")
    func directories() throws {
        let scratch = try ScratchDirectory("paths")
        let paths = RuntimePaths(root: "\(scratch.path)/run/partctl", definitions: "\(scratch.path)/lib/partctl")
        try paths.createDirectories()
        try paths.createDirectories()
        for (directory, mode) in [(paths.root, 0o700), (paths.locks, 0o700), (paths.definitions, 0o711),
                                  (paths.wparDefinitions, 0o711)] {
            var status = stat()
            #expect(stat(directory, &status) == 0 && Int(status.st_mode & 0o777) == mode, "\(directory)")
        }
        let name = try PartitionName("tools")
        #expect(paths.lockFile(for: name) == "\(scratch.path)/run/partctl/locks/tools.lock")
        #expect(paths.runtimeDirectory(for: name) == "\(scratch.path)/run/partctl/wpar/tools")
    }

    @Test("a file where a directory belongs is reported")
    func fileInTheWay() throws {
        let scratch = try ScratchDirectory("paths-file")
        try AtomicFile.write([], to: "\(scratch.path)/run", mode: 0o600, durable: false)
        let error = #expect(throws: PartitionError.self) {
            try RuntimePaths(root: "\(scratch.path)/run", definitions: "\(scratch.path)/lib").createDirectories()
        }
        #expect(error?.message == "\(scratch.path)/run exists but is not a directory.")
    }

    @Test("the environment chooses both roots, defaults otherwise")
    func environment() {
        let defaults = RuntimePaths()
        #expect(defaults.root == "/run/partctl" && defaults.definitions == "/var/lib/partctl")
        let fromEnvironment = RuntimePaths.fromEnvironment()
        let variable = getenv(RuntimePaths.definitionsVariable).map { String(cString: $0) }
        #expect(fromEnvironment.definitions == (variable.flatMap { $0.isEmpty ? nil : $0 } ?? "/var/lib/partctl"))
    }
}
