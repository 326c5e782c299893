import Glibc
import PartitionModel
import SystemKit

/// Digests of image content. A tree's digest covers, in byte order of the paths, every entry's path,
/// type, mode, owner, size, a regular file's contents and a symlink's target: two trees with the
/// same digest look the same to a WPAR. The walk opens each directory relative to its parent and
/// never follows a symlink.
public enum ImageDigest {
    /// `sha256:` followed by 64 lowercase hex digits.
    public static func isValid(_ digest: String) -> Bool {
        guard digest.hasPrefix("sha256:") else { return false }
        let hex = digest.utf8.dropFirst(7)
        return hex.count == 64 && hex.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }

    /// The digest of the tree at `path` and the bytes its files take on disk.
    public static func tree(at path: String) throws(PartitionError) -> (digest: String, size: UInt64) {
        let fd = POSIX.retryingInterrupts { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw POSIX.failure("open the tree \(path)") }
        defer { close(fd) }
        var walk = TreeWalk(top: path)
        walk.entry(relative: Array(".".utf8), status: try fileStatus(fd, path: path))
        try walk.directory(fd, relative: [], depth: 0)
        return (walk.hasher.finishDigest(), walk.size)
    }

    /// The digest of one file's contents, read through `fd` from where it is.
    public static func contents(of fd: Int32, path: String) throws(PartitionError) -> String {
        var hasher = SHA256()
        try feed(fd, into: &hasher, path: path)
        return hasher.finishDigest()
    }

    static func feed(_ fd: Int32, into hasher: inout SHA256, path: String) throws(PartitionError) {
        let chunk = 1 << 16
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        while true {
            let count = POSIX.retryingInterrupts { read(fd, buffer.baseAddress, chunk) }
            if count < 0 { throw POSIX.failure("read \(path)") }
            if count == 0 { return }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
    }

    static func fileStatus(_ fd: Int32, path: String) throws(PartitionError) -> stat {
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw POSIX.failure("examine \(path)") }
        return status
    }

    /// The state of one digest walk.
    private struct TreeWalk {
        let top: String
        var hasher = SHA256()
        var size: UInt64 = 0
        static let maxDepth = 512

        init(top: String) { self.top = top }

        /// Adds one entry's line: path and its length (so no path can pose as another's tail),
        /// type and mode, owner, size, and for devices the device number.
        mutating func entry(relative: [UInt8], status: stat) {
            let mode = String(status.st_mode, radix: 8)
            var line = " \(mode) \(status.st_uid):\(status.st_gid) \(status.st_size)"
            let type = status.st_mode & S_IFMT
            if type == S_IFCHR || type == S_IFBLK { line += " dev=\(status.st_rdev)" }
            hasher.update("\(relative.count):")
            hasher.update(relative)
            hasher.update(line)
            size += UInt64(max(0, status.st_blocks)) * 512
        }

        mutating func directory(_ fd: Int32, relative: [UInt8], depth: Int) throws(PartitionError) {
            let shown = "\(top)/\(String(decoding: relative, as: UTF8.self))"
            if depth > TreeWalk.maxDepth {
                throw PartitionError(.invalidArgument, "The tree \(top) is more than \(TreeWalk.maxDepth) directories deep at \(shown).")
            }
            for bytes in try TreeWalk.names(in: fd, path: shown) {
                let childBytes = relative.isEmpty ? bytes : relative + [0x2f] + bytes
                let child = String(decoding: childBytes, as: UTF8.self)
                let name = bytes.map { CChar(bitPattern: $0) } + [0]
                var status = stat()
                guard fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else {
                    throw POSIX.failure("examine \(top)/\(child)")
                }
                entry(relative: childBytes, status: status)
                switch status.st_mode & S_IFMT {
                case S_IFDIR:
                    let sub = POSIX.retryingInterrupts { openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                    guard sub >= 0 else { throw POSIX.failure("open \(top)/\(child)") }
                    defer { close(sub) }
                    try directory(sub, relative: childBytes, depth: depth + 1)
                case S_IFREG:
                    let file = POSIX.retryingInterrupts { openat(fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
                    guard file >= 0 else { throw POSIX.failure("open \(top)/\(child)") }
                    defer { close(file) }
                    var contents = SHA256()
                    try ImageDigest.feed(file, into: &contents, path: "\(top)/\(child)")
                    hasher.update(" " + SHA256.hex(contents.finish()))
                case S_IFLNK:
                    hasher.update(" -> ")
                    hasher.update(try TreeWalk.target(of: name, in: fd, path: "\(top)/\(child)"))
                default:
                    break
                }
                hasher.update("\n")
            }
        }

        static func target(of name: [CChar], in fd: Int32, path: String) throws(PartitionError) -> [UInt8] {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlinkat(fd, name, &buffer, buffer.count)
            guard count >= 0 else { throw POSIX.failure("read the link \(path)") }
            return buffer[..<count].map { UInt8(bitPattern: $0) }
        }

        /// The entries of `fd` except `.` and `..`, sorted by their bytes.
        static func names(in fd: Int32, path: String) throws(PartitionError) -> [[UInt8]] {
            let listing = POSIX.retryingInterrupts { openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
            guard listing >= 0, let stream = fdopendir(listing) else {
                let cause = errno
                if listing >= 0 { close(listing) }
                throw POSIX.failure("read the directory \(path)", errno: cause)
            }
            defer { closedir(stream) }
            var names: [[UInt8]] = []
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
                if name == [0x2e] || name == [0x2e, 0x2e] { continue }
                names.append(name)
            }
            return names.sorted { $0.lexicographicallyPrecedes($1) }
        }
    }
}
