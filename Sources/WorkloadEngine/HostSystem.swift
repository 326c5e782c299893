import Glibc
import PartitionModel
import SystemKit

/// The few POSIX calls the engine's Swift side makes, each returning Swift values; failures become
/// `PartitionError(.system)` naming the step and errno.
enum HostSystem {
    /// "create the cgroup: No such file or directory (errno 2)."
    static func failure(_ step: String, errno code: Int32 = errno) -> PartitionError {
        POSIX.failure(step, errno: code)
    }

    enum FileType: Equatable {
        case directory, regular, symlink, characterDevice, blockDevice, socket, fifo
        /// An overlayfs whiteout: a character device 0:0 that hides the lower layer's entry.
        case whiteout
    }

    /// The type of `path` itself (never following a final symlink), or nil when it does not exist.
    static func fileType(_ path: String) -> FileType? {
        var status = stat()
        guard lstat(path, &status) == 0 else { return nil }
        switch status.st_mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regular
        case S_IFLNK: return .symlink
        case S_IFCHR: return status.st_rdev == 0 ? .whiteout : .characterDevice
        case S_IFBLK: return .blockDevice
        case S_IFSOCK: return .socket
        default: return .fifo
        }
    }

    /// The canonical path with every symlink resolved, or nil when it does not exist.
    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func monotonicSeconds() -> Double { POSIX.monotonicSeconds() }

    static func sleep(seconds: Double) { POSIX.sleep(seconds: seconds) }

    /// Creates `path` with `mode` (parents 0755); an existing directory is fine.
    static func makeDirectories(_ path: String, mode: mode_t) throws(PartitionError) {
        if mkdir(path, mode) == 0 {
            chmod(path, mode)
            return
        }
        if errno == EEXIST, fileType(path) == .directory { return }
        if errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try makeDirectories(String(path[..<slash]), mode: 0o755)
            if mkdir(path, mode) == 0 || errno == EEXIST {
                chmod(path, mode)
                return
            }
        }
        throw failure("create the directory \(path)")
    }

    /// Removes `path` and everything below it, at any depth, without following symlinks and
    /// without leaving its file system (see TreeRemoval); a missing path is fine.
    static func removeTree(_ path: String) throws(PartitionError) {
        try TreeRemoval.remove(path)
    }

    /// Writes all of `bytes`, retrying short writes and interruptions.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool { FileIO.writeAll(fd, bytes) }
}
