import Glibc
import PartitionModel
import Synchronization
import SystemKit

/// State files decoded once per version instead of on every command: a long-lived engine (partagent)
/// reads the same WPAR's definition and runtime record for every login, and decoding JSON is a good
/// part of a login under TCG.
///
/// A version is what fstat says of the open file: device, inode, size, modification and change
/// times. partctl replaces these files by rename (AtomicFile), so each new version is a new inode;
/// a file rewritten in place shows a new change time (file times move in clock ticks, so a rewrite
/// of the same length within the tick of the last one would pass unseen: partctl never rewrites
/// these files in place). The bytes decoded and the version they are
/// kept under come from the same open file, so a replacement between the two is never mistaken
/// for the version read.
final class DecodedFileCache<Value: Sendable>: Sendable {
    private struct Version: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: timespec
        var changed: timespec

        init(_ status: stat) {
            device = UInt64(status.st_dev)
            inode = UInt64(status.st_ino)
            size = Int64(status.st_size)
            modified = status.st_mtim
            changed = status.st_ctim
        }

        static func == (a: Version, b: Version) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
                && a.changed.tv_sec == b.changed.tv_sec && a.changed.tv_nsec == b.changed.tv_nsec
        }
    }

    private let entries = Mutex<[String: (version: Version, value: Value)]>([:])

    /// The decoded contents of `path`, or nil when it does not exist. A file larger than `limit`
    /// bytes is refused, as AtomicFile.read does; what `decode` throws is thrown.
    func value(at path: String, limit: Int,
               decode: ([UInt8]) throws(PartitionError) -> Value) throws(PartitionError) -> Value? {
        let fd = SystemCall.retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 {
            let cause = errno
            entries.withLock { _ = $0.removeValue(forKey: path) }
            if cause == ENOENT { return nil }
            throw SystemCall.failure("read \(path)", errno: cause)
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SystemCall.failure("read \(path)") }
        let version = Version(status)
        if let entry = entries.withLock({ $0[path] }), entry.version == version { return entry.value }
        let bytes: [UInt8]
        switch SystemCall.readAll(fd, limit: limit) {
        case .success(let read): bytes = read
        case .failure(.fileTooLarge):
            throw PartitionError(.invalidState, "The file \(path) is larger than \(limit) bytes; it is not a file partctl wrote.")
        case .failure(let cause): throw SystemCall.failure("read \(path)", errno: cause.rawValue)
        }
        let value = try decode(bytes)
        entries.withLock { $0[path] = (version, value) }
        return value
    }
}
