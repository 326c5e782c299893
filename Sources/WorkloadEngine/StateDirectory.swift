import Glibc
import PartitionModel

/// partctl's own state directories: made with their final mode from the start, and tightened when
/// an older installation (or an admin) left one more open than that.
///
/// A WPAR's writable layer lives below them, and what a WPAR writes there can be setuid root or
/// carry file capabilities: a host user who can reach such a file runs it with host privileges
/// (Moby CVE-2021-41091). Closing the directories to other users is what prevents it.
public enum StateDirectory {
    /// Makes sure `path` is a directory whose mode grants nothing beyond `mode`, owned by this user
    /// unless `anyOwner` (a WPAR's own directory may belong to its user namespace's root).
    ///
    /// A new directory is created by mkdir with `mode` (the umask can only narrow it, never widen
    /// it, so it is never more open than `mode`) and then set to exactly `mode` through its
    /// descriptor. An existing one keeps the bits of `mode` it has and loses the others. Missing
    /// parents are created 0755 (they are not partctl's, e.g. /var/lib). With `followingSymlink`,
    /// `path` itself may be a symlink (an admin may move `/var/lib/partctl` elsewhere); directories
    /// below partctl's roots never may.
    public static func ensure(_ path: String, mode: mode_t, followingSymlink: Bool = false, anyOwner: Bool = false) throws(PartitionError) {
        var created = mkdir(path, mode) == 0
        if !created {
            switch errno {
            case EEXIST:
                break
            case ENOENT:
                guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
                    throw SystemCall.failure("create the directory \(path)")
                }
                try makeParents(String(path[..<slash]))
                if mkdir(path, mode) == 0 { created = true } else if errno != EEXIST {
                    throw SystemCall.failure("create the directory \(path)")
                }
            default:
                throw SystemCall.failure("create the directory \(path)")
            }
        }
        let flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followingSymlink ? 0 : O_NOFOLLOW)
        let fd = SystemCall.retryingInterrupts { open(path, flags) }
        guard fd >= 0 else {
            if errno == ENOTDIR || errno == ELOOP {
                throw PartitionError(.invalidState, "\(path) exists but is not a directory.")
            }
            throw SystemCall.failure("open the directory \(path)")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw SystemCall.failure("examine the directory \(path)") }
        guard anyOwner || status.st_uid == geteuid() else {
            throw PartitionError(.permissionDenied,
                "The state directory \(path) belongs to user \(status.st_uid), not to this user (\(geteuid())); another user could change partctl's state. Give it to this user (chown) or remove it.")
        }
        let current = status.st_mode & 0o7777
        let wanted = created ? mode : current & mode
        if current != wanted && fchmod(fd, wanted) != 0 {
            throw SystemCall.failure("set the mode of the directory \(path)")
        }
    }

    /// `<runtime root>/<name>`, a directory of partctl's own below its runtime root (lock files of
    /// agent channels, noted LPAR transitions), both 0700: the root as RuntimePaths makes it, so
    /// whichever command comes first after a reboot never leaves it open.
    public static func ensureRuntime(_ name: String, below runtimeRoot: String) throws(PartitionError) -> String {
        try ensure(runtimeRoot, mode: 0o700, followingSymlink: true)
        let directory = runtimeRoot + "/" + name
        try ensure(directory, mode: 0o700)
        return directory
    }

    /// Tightens a WPAR's own directory `path` as `ensure` does when it exists; creates nothing.
    public static func tightenIfPresent(_ path: String, mode: mode_t) throws(PartitionError) {
        guard HostSystem.fileType(path) == .directory else { return }
        try ensure(path, mode: mode, anyOwner: true)
    }

    /// Creates the missing ancestors of a state directory with 0755, leaving existing ones alone.
    private static func makeParents(_ path: String) throws(PartitionError) {
        if mkdir(path, 0o755) == 0 || errno == EEXIST { return }
        guard errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex else {
            throw SystemCall.failure("create the directory \(path)")
        }
        try makeParents(String(path[..<slash]))
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw SystemCall.failure("create the directory \(path)") }
    }
}
