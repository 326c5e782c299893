#if canImport(Glibc)
import Glibc
#endif
import PartitionModel

/// Small file reads without Foundation, bounded so that a huge file cannot exhaust memory.
enum LocalFile {
    static func read(_ path: String, limit: Int, missingIsEmpty: Bool = false) throws(PartitionError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT && missingIsEmpty { return "" }
            throw PartitionError(.system, "Cannot read '\(path)': \(String(cString: strerror(errno))).")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < limit {
            let count = Glibc.read(fd, &buffer, min(buffer.count, limit - bytes.count))
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw PartitionError(.system, "Cannot read '\(path)': \(String(cString: strerror(errno))).") }
            if count == 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Writes to a standard stream with write(2): no stdio buffers shared between threads.
public enum StandardStream {
    public static func write(_ text: String, to fd: Int32) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 && errno == EINTR { continue }
            if written <= 0 { return }
            offset += written
        }
    }
}
