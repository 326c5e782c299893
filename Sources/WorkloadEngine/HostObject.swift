import Glibc
import PartitionModel

/// A host path as it was opened and checked: its canonical path read back from the descriptor,
/// and its identity, which the child compares with what it opens itself before anything moves.
struct HostObject: Sendable, Hashable {
    var path: String
    var identity: SpawnPlan.Identity
    var isDirectory: Bool
}

/// fstatfs(2): Swift's Glibc module does not import <sys/statfs.h>. `f_type` is the first field
/// (a long) of struct statfs on every Linux ABI partctl builds for; 256 bytes hold the whole struct.
@_silgen_name("fstatfs") private func fileSystemStatus(_ fd: Int32, _ buffer: UnsafeMutableRawPointer) -> Int32

extension HostPathRules {
    /// O_PATH (Linux), which Swift's Glibc module hides behind _GNU_SOURCE.
    static let openPathOnly: Int32 = 0o10000000

    /// The statfs magic number of the file system `fd` is on, or nil.
    static func fileSystemType(_ fd: Int32) -> Int? {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 8)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0, count: 256)
        guard fileSystemStatus(fd, buffer) == 0 else { return nil }
        return buffer.load(as: Int.self)
    }

    /// File systems that are kernel interfaces or other namespaces' handles: never a source,
    /// wherever they are mounted (statfs magic numbers).
    static let kernelFilesystems: [Int: String] = [
        0x9fa0: "procfs", 0x6265_6572: "sysfs", 0x0027_e0eb: "cgroup", 0x6367_7270: "cgroup2",
        0x6462_6720: "debugfs", 0x7363_6673: "securityfs", 0x7472_6163: "tracefs", 0xcafe_4a11: "bpf",
        0x6e73_6673: "nsfs", 0x1cd1: "devpts", 0x4249_4e4d: "binfmt_misc", 0x6573_5546: "fusectl",
        0x6e66_6c77: "efivarfs", 0x5079_5245: "pstore", 0x7461_6e67: "configfs",
    ]

    /// Opens `path` component by component with O_NOFOLLOW and refuses it when any component is a
    /// symlink (planted by a WPAR in a directory it can write, or the host's own): a source is
    /// given by its real path. Checks the opened object's file system, and that the path read
    /// back from the descriptor is the path given.
    static func open(_ path: String, _ what: String) throws(PartitionError) -> HostObject {
        let shown = QuotedText.of(path)
        var fd = Glibc.open("/", Self.openPathOnly | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw HostSystem.failure("open /") }
        defer { close(fd) }
        var status = stat()
        var walked = ""
        for component in path.split(separator: "/") {
            walked += "/" + component
            let next = openat(fd, String(component), Self.openPathOnly | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            guard next >= 0 else {
                if code == ENOENT { throw PartitionError(.notFound, "The \(what) \(shown) does not exist on the host.") }
                if code == ENOTDIR { throw PartitionError(.invalidArgument, "The \(what) \(shown) goes through \(QuotedText.of(walked)), which is not a directory.") }
                throw HostSystem.failure("open \(walked)", errno: code)
            }
            close(fd)
            fd = next
            guard fstat(fd, &status) == 0 else { throw HostSystem.failure("inspect \(walked)") }
            if (status.st_mode & S_IFMT) == S_IFLNK {
                let real = HostSystem.realPath(path).map { " (it is \(QuotedText.of($0)))" } ?? ""
                throw PartitionError(.permissionDenied,
                    "The \(what) \(shown) goes through a symlink at \(QuotedText.of(walked))\(real); partctl follows no symlink in a host path, give the real path.")
            }
        }
        guard fstat(fd, &status) == 0 else { throw HostSystem.failure("inspect \(path)") }
        guard let type = Self.fileSystemType(fd) else { throw HostSystem.failure("inspect \(path)") }
        if let kind = kernelFilesystems[type] {
            throw PartitionError(.permissionDenied, "The \(what) \(shown) is on \(kind), a kernel interface that is never bound into a WPAR.")
        }
        guard let opened = Self.linkText("/proc/self/fd/\(fd)"), opened == path else {
            throw PartitionError(.permissionDenied, "The \(what) \(shown) is not what its path names on this host; give its real path.")
        }
        return HostObject(path: opened,
                          identity: SpawnPlan.Identity(device: UInt64(status.st_dev), inode: UInt64(status.st_ino)),
                          isDirectory: (status.st_mode & S_IFMT) == S_IFDIR)
    }

    /// The text of the symlink `path` (here a descriptor's path in this process's own /proc), or nil.
    private static func linkText(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4097)
        let length = readlink(path, &buffer, 4096)
        guard length > 0 else { return nil }
        return String(decoding: buffer[..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
