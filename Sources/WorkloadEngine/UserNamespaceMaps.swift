import Glibc
import PartitionModel

/// Writes a user namespace's ID maps for a child that waits to be released (it cannot write
/// them itself without capabilities in the parent namespace).
enum UserNamespaceMaps {
    static func write(_ mapping: UserNamespaceMapping, pid: pid_t) throws(PartitionError) {
        for (file, ranges) in [("uid_map", mapping.uids), ("gid_map", mapping.gids)] {
            let text = ranges.map { "\($0.inside) \($0.outside) \($0.count)\n" }.joined()
            let path = "/proc/\(pid)/\(file)"
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw HostSystem.failure("open \(path)") }
            defer { close(fd) }
            // The kernel takes the whole map in one write.
            let bytes = Array(text.utf8)
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            guard written == bytes.count else { throw HostSystem.failure("write \(path)") }
        }
    }
}
