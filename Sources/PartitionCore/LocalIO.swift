#if canImport(Glibc)
import Glibc
#endif
import PartitionModel
import SystemKit

/// Small file reads without Foundation: at most the first `limit` bytes, so that a huge file cannot
/// exhaust memory.
enum LocalFile {
    static func read(_ path: String, limit: Int, missingIsEmpty: Bool = false) throws(PartitionError) -> String {
        switch FileIO.readFile(path, limit: limit, truncating: true) {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(let cause) where cause.rawValue == ENOENT && missingIsEmpty: return ""
        case .failure(let cause): throw POSIX.failure("read '\(path)'", errno: cause.rawValue)
        }
    }
}

/// PartitionCommands writes through this name; it lives in SystemKit.
public typealias StandardStream = SystemKit.StandardStream
