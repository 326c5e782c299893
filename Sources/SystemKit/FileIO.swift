import Glibc
import PartitionModel

/// Whole writes and bounded reads on descriptors and small files.
public enum FileIO {
    /// Writes all of `count` bytes, retrying short writes and EINTR and waiting while a
    /// non-blocking `fd` is full; false when `fd` takes no more (closed pipe, error).
    public static func writeAll(_ fd: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Bool {
        guard let bytes else { return count == 0 }
        var offset = 0
        while offset < count {
            let written = write(fd, bytes + offset, count - offset)
            if written > 0 {
                offset += written
            } else if written < 0 && errno == EAGAIN {
                var entry = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&entry, 1, -1)
            } else if !(written < 0 && errno == EINTR) {
                return false
            }
        }
        return true
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { writeAll(fd, $0.baseAddress, $0.count) }
    }

    public static func writeAll(_ fd: Int32, _ text: String) -> Bool {
        var text = text
        return text.withUTF8 { writeAll(fd, $0.baseAddress, $0.count) }
    }

    /// What is left of an open file, at most `limit` bytes: a longer one fails with EFBIG rather
    /// than being read (or, `truncating`, gives its first `limit` bytes), so a hostile or corrupt
    /// file cannot exhaust memory.
    public static func readAll(_ fd: Int32, limit: Int, truncating: Bool = false) -> Result<[UInt8], SystemErrno> {
        let chunk = 16_384
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { buffer in
            var bytes: [UInt8] = []
            while true {
                let count = POSIX.retryingInterrupts { read(fd, buffer.baseAddress, chunk) }
                if count < 0 { return .failure(SystemErrno(errno)) }
                if count == 0 { return .success(bytes) }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[..<count]))
                if bytes.count > limit {
                    return truncating ? .success(Array(bytes.prefix(limit))) : .failure(SystemErrno(EFBIG))
                }
            }
        }
    }

    /// A whole small file, as `readAll`.
    public static func readFile(_ path: String, limit: Int, truncating: Bool = false) -> Result<[UInt8], SystemErrno> {
        let fd = POSIX.retryingInterrupts { open(path, O_RDONLY | O_CLOEXEC) }
        if fd < 0 { return .failure(SystemErrno(errno)) }
        defer { close(fd) }
        return readAll(fd, limit: limit, truncating: truncating)
    }

    /// A small text file, nil when it cannot be read.
    public static func readText(_ path: String, limit: Int = 1 << 16) -> String? {
        guard case .success(let bytes) = readFile(path, limit: limit) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// An errno value as an error, for the reads that report it to callers that decide what it means.
public struct SystemErrno: Error, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(_ rawValue: Int32) { self.rawValue = rawValue }
    public var description: String { POSIX.describe(rawValue) }
}

/// Writes to a standard stream with write(2): no stdio buffers shared between threads.
public enum StandardStream {
    public static func write(_ text: String, to fd: Int32) {
        _ = FileIO.writeAll(fd, text)
    }
}
