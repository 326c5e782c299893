import Glibc
import PartitionModel

/// Whole-file writes that readers never see half done: the data goes to a fresh temporary file in the
/// same directory, which is then renamed over the target. A crash leaves either the old or the new
/// file, plus at most a temporary that `removeTemporaries(in:)` clears.
public enum AtomicFile {
    /// Temporaries are `.<name>.tmp-<random>`, hidden and recognisable for cleanup.
    static let temporaryMarker = ".tmp-"

    /// Replaces `path` with `data`. With `durable`, the data and the rename are on disk before this
    /// returns (fsync of the file, then of the directory); without it they survive a crash of
    /// partctl but not of the machine, which is enough for runtime state under /run.
    public static func write(_ data: [UInt8], to path: String, mode: mode_t, durable: Bool = true) throws(PartitionError) {
        let (directory, name) = split(path)
        let temporary = "\(directory)/.\(name)\(temporaryMarker)\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let fd = POSIX.retryingInterrupts {
            open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        }
        if fd < 0 { throw POSIX.failure("create a temporary file for \(path)") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        defer { close(fd) }
        try fill(fd, path: temporary, with: data, mode: mode, durable: durable)
        if rename(temporary, path) != 0 { throw POSIX.failure("replace \(path)") }
        renamed = true
        if durable { try syncDirectory(directory) }
    }

    /// The contents of `path`, or nil when it does not exist. A file larger than `limit` bytes is
    /// refused rather than read, so a corrupt or hostile state file cannot exhaust memory.
    public static func read(_ path: String, limit: Int) throws(PartitionError) -> [UInt8]? {
        switch FileIO.readFile(path, limit: limit) {
        case .success(let bytes): return bytes
        case .failure(let cause) where cause.rawValue == ENOENT: return nil
        case .failure(let cause) where cause.rawValue == EFBIG:
            throw PartitionError(.invalidState, "The file \(path) is larger than \(limit) bytes; it is not a file partctl wrote.")
        case .failure(let cause): throw POSIX.failure("read \(path)", errno: cause.rawValue)
        }
    }

    /// Removes temporaries that a killed writer left in `directory`; returns how many it removed.
    @discardableResult
    public static func removeTemporaries(in directory: String) -> Int {
        guard let handle = opendir(directory) else { return 0 }
        defer { closedir(handle) }
        var removed = 0
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix("."), name.contains(temporaryMarker), entry.pointee.d_type == UInt8(DT_REG) else { continue }
            if unlink("\(directory)/\(name)") == 0 { removed += 1 }
        }
        return removed
    }

    private static func fill(_ fd: Int32, path: String, with data: [UInt8], mode: mode_t, durable: Bool) throws(PartitionError) {
        // The umask must not narrow or widen the mode the caller asked for.
        if fchmod(fd, mode) != 0 { throw POSIX.failure("set the mode of \(path)") }
        if !FileIO.writeAll(fd, data) { throw POSIX.failure("write \(path)") }
        if durable && POSIX.retryingInterrupts({ fsync(fd) }) != 0 {
            throw POSIX.failure("flush \(path) to disk")
        }
    }

    private static func syncDirectory(_ directory: String) throws(PartitionError) {
        let fd = POSIX.retryingInterrupts { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        if fd < 0 { throw POSIX.failure("open the directory \(directory)") }
        defer { close(fd) }
        if POSIX.retryingInterrupts({ fsync(fd) }) != 0 { throw POSIX.failure("flush the directory \(directory) to disk") }
    }

    /// ("/run/partctl/x", "state.json"); a bare name lives in the current directory.
    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
