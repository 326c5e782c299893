import CSeccomp
import Glibc
import PartitionModel
import SystemKit

/// Compiled filters kept under the runtime root (`/run/partctl/seccomp`), so that a start reads a
/// finished program instead of compiling it: libseccomp takes about 1-2 ms for the default filter
/// (its personality rules most of it), a read of the cached program some microseconds.
///
/// A file is named by a hash of the filter's full description (what is compiled, partctl's
/// format, libseccomp's version) and holds that description before the program: it is used only
/// when the description matches byte for byte, the file is a regular file owned by this user and
/// writable by no one else, in a directory of the same kind. Anything else is compiled afresh;
/// the cache never makes a start fail.
struct SeccompCache {
    /// Bump when what the compiler makes of a description changes (attributes, encoding).
    static let format = "partctl-seccomp-cache 1"
    static let maxBytes = 1 << 20

    let runtimeRoot: String
    let directory: String

    init(runtimeRoot: String) {
        self.runtimeRoot = runtimeRoot
        directory = runtimeRoot + "/seccomp"
    }

    /// The cached program for `description`, else `compile()`'s, stored for next time.
    func program(for description: String, compile: () throws(PartitionError) -> SeccompProgram) throws(PartitionError) -> SeccompProgram {
        let key = Self.format + "\n" + Self.libraryVersion + "\n" + description
        let path = directory + "/" + Self.hash(key) + ".bpf"
        if let cached = load(path, key: key) { return cached }
        let program = try compile()
        store(program, key: key, at: path)
        return program
    }

    static var libraryVersion: String {
        guard let version = seccomp_version() else { return "libseccomp ?" }
        return "libseccomp \(version.pointee.major).\(version.pointee.minor).\(version.pointee.micro)"
    }

    /// The running executable as a file (device, inode, size, modification time): another build of
    /// partctl or partagent, with other rules or another libseccomp, is another file.
    static func binaryIdentity() -> String? {
        var info = stat()
        guard stat("/proc/self/exe", &info) == 0 else { return nil }
        return "binary \(info.st_dev):\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)"
    }

    /// FNV-1a, 64 bits, as hex: a file name, not a proof (the description inside is compared).
    static func hash(_ text: String) -> String {
        var value: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
        return String(value, radix: 16)
    }

    /// File layout: the key's length (8 bytes, little-endian), the key, the program.
    func load(_ path: String, key: String) -> SeccompProgram? {
        guard Self.isPrivate(directory, directory: true) else { return nil }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, Self.isPrivate(info, directory: false), info.st_size <= Self.maxBytes else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let count = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        let keyBytes = Array(key.utf8)
        guard count == bytes.count, bytes.count >= 8 + keyBytes.count else { return nil }
        let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length == UInt64(keyBytes.count), bytes[8..<(8 + keyBytes.count)].elementsEqual(keyBytes) else { return nil }
        let program = Array(bytes[(8 + keyBytes.count)...])
        guard !program.isEmpty, program.count % 8 == 0, program.count / 8 <= 4096 else { return nil }
        return SeccompProgram(bytes: program)
    }

    func store(_ program: SeccompProgram, key: String, at path: String) {
        // The runtime root as RuntimePaths makes it (0700), when `run` comes first on a fresh host.
        _ = mkdir(runtimeRoot, 0o700)
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return }
        guard Self.isPrivate(directory, directory: true) else { return }
        let keyBytes = Array(key.utf8)
        var data: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(keyBytes.count) >> (8 * UInt64($0))) }
        data += keyBytes
        data += program.bytes
        try? AtomicFile.write(data, to: path, mode: 0o600, durable: false)
    }

    static func isPrivate(_ path: String, directory: Bool) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && isPrivate(info, directory: directory)
    }

    static func isPrivate(_ info: stat, directory: Bool) -> Bool {
        (info.st_mode & S_IFMT) == (directory ? S_IFDIR : S_IFREG) && info.st_uid == geteuid() && info.st_mode & 0o022 == 0
    }
}
