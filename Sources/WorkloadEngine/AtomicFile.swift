import Glibc
import PartitionModel
import SystemPackage

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
        let fd = SystemCall.retryingInterrupts {
            open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        }
        if fd < 0 { throw SystemCall.failure("create a temporary file for \(path)") }
        var renamed = false
        defer { if !renamed { unlink(temporary) } }
        defer { close(fd) }
        try fill(fd, path: temporary, with: data, mode: mode, durable: durable)
        if rename(temporary, path) != 0 { throw SystemCall.failure("replace \(path)") }
        renamed = true
        if durable { try syncDirectory(directory) }
    }

    /// The contents of `path`, or nil when it does not exist. A file larger than `limit` bytes is
    /// refused rather than read, so a corrupt or hostile state file cannot exhaust memory.
    public static func read(_ path: String, limit: Int) throws(PartitionError) -> [UInt8]? {
        switch SystemCall.readFile(path, limit: limit) {
        case .success(let bytes): return bytes
        case .failure(.noSuchFileOrDirectory): return nil
        case .failure(.fileTooLarge):
            throw PartitionError(.invalidState, "The file \(path) is larger than \(limit) bytes; it is not a file partctl wrote.")
        case .failure(let cause): throw SystemCall.failure("read \(path)", errno: cause.rawValue)
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
        if fchmod(fd, mode) != 0 { throw SystemCall.failure("set the mode of \(path)") }
        try writeAll(data, to: fd, path: path)
        if durable && SystemCall.retryingInterrupts({ fsync(fd) }) != 0 {
            throw SystemCall.failure("flush \(path) to disk")
        }
    }

    private static func writeAll(_ data: [UInt8], to fd: Int32, path: String) throws(PartitionError) {
        var offset = 0
        while offset < data.count {
            let count = data.withUnsafeBytes { buffer in
                SystemCall.retryingInterrupts { Glibc.write(fd, buffer.baseAddress! + offset, buffer.count - offset) }
            }
            if count < 0 { throw SystemCall.failure("write \(path)") }
            offset += count
        }
    }

    private static func syncDirectory(_ directory: String) throws(PartitionError) {
        let fd = SystemCall.retryingInterrupts { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        if fd < 0 { throw SystemCall.failure("open the directory \(directory)") }
        defer { close(fd) }
        if SystemCall.retryingInterrupts({ fsync(fd) }) != 0 { throw SystemCall.failure("flush the directory \(directory) to disk") }
    }

    /// ("/run/partctl/x", "state.json"); a bare name lives in the current directory.
    private static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }
}
