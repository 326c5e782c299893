import Glibc
import PartitionModel

/// Removes a directory tree of any depth that a WPAR may have shaped: a tree deeper than PATH_MAX,
/// symlinks anywhere, directories with mode 000. Every step is relative to a directory descriptor,
/// so no path grows with the depth, and no symlink is ever followed. It holds one directory open at
/// a time and climbs back through "..", checking that each parent is the directory it came from,
/// so neither the stack nor the descriptor table limit the depth. It never leaves the file system
/// of the top directory: a mount point below it is an error, not something to empty.
public enum TreeRemoval {
    /// Removes `path` (a directory with everything below it, or a single file); a missing path is fine.
    public static func remove(_ path: String) throws(PartitionError) {
        var status = stat()
        guard lstat(path, &status) == 0 else {
            if errno == ENOENT { return }
            throw POSIX.failure("examine \(path)")
        }
        let (directory, name) = split(path)
        let parent = POSIX.retryingInterrupts { open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard parent >= 0 else { throw POSIX.failure("open the directory \(directory)") }
        defer { close(parent) }
        if (status.st_mode & S_IFMT) == S_IFDIR {
            try empty(name, in: parent, path: path)
            if unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT {
                throw POSIX.failure("remove the directory \(path)")
            }
        } else if unlinkat(parent, name, 0) != 0 && errno != ENOENT {
            throw POSIX.failure("remove \(path)")
        }
    }

    private struct Identity: Equatable {
        var device: dev_t
        var inode: ino_t
        init(_ status: stat) { device = status.st_dev; inode = status.st_ino }
    }

    /// Removes everything below the directory `name` in `parent`, leaving it empty.
    private static func empty(_ name: String, in parent: Int32, path: String) throws(PartitionError) {
        var (fd, identity) = try openDirectory(name, in: parent, path: path)
        let device = identity.device
        // The way down: each directory's name in its parent and the parent's identity.
        var trail: [(name: String, parent: Identity)] = []
        defer { close(fd) }
        while true {
            if let child = try removeFiles(in: fd, path: path) {
                let (childFD, childIdentity) = try openDirectory(child, in: fd, path: path)
                guard childIdentity.device == device else {
                    close(childFD)
                    throw PartitionError(.invalidState,
                        "Could not remove \(path): a file system is mounted on a directory below it, \(trail.count + 1) levels down.")
                }
                trail.append((child, identity))
                close(fd)
                (fd, identity) = (childFD, childIdentity)
                continue
            }
            guard let step = trail.popLast() else { return }
            let up = POSIX.retryingInterrupts { openat(fd, "..", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard up >= 0 else { throw POSIX.failure("climb back up while removing \(path)") }
            var status = stat()
            guard fstat(up, &status) == 0, Identity(status) == step.parent else {
                close(up)
                throw PartitionError(.invalidState, "Could not remove \(path): a directory below it was moved while it was being removed.")
            }
            close(fd)
            (fd, identity) = (up, step.parent)
            if unlinkat(fd, step.name, AT_REMOVEDIR) != 0 && errno != ENOENT {
                throw POSIX.failure("remove a directory \(trail.count + 1) levels below \(path)")
            }
        }
    }

    /// Opens the directory `name` in `parent` without following a symlink; returns it and its identity.
    private static func openDirectory(_ name: String, in parent: Int32, path: String) throws(PartitionError) -> (Int32, Identity) {
        let fd = POSIX.retryingInterrupts { openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else { throw POSIX.failure("open a directory below \(path)") }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let cause = errno
            close(fd)
            throw POSIX.failure("examine a directory below \(path)", errno: cause)
        }
        return (fd, Identity(status))
    }

    /// Unlinks every entry of the directory `fd` that is not a directory; returns the name of a
    /// subdirectory still in it, or nil when it is empty now.
    private static func removeFiles(in fd: Int32, path: String) throws(PartitionError) -> String? {
        // A fresh open file description, so that reading it never moves `fd`'s offset.
        let listing = POSIX.retryingInterrupts { openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard listing >= 0, let stream = fdopendir(listing) else {
            let cause = errno
            if listing >= 0 { close(listing) }
            throw POSIX.failure("read a directory below \(path)", errno: cause)
        }
        defer { closedir(stream) }
        var subdirectory: String?
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            var isDirectory = entry.pointee.d_type == UInt8(DT_DIR)
            if entry.pointee.d_type == UInt8(DT_UNKNOWN) {
                var status = stat()
                if fstatat(fd, name, &status, AT_SYMLINK_NOFOLLOW) != 0 {
                    if errno == ENOENT { continue }
                    throw POSIX.failure("examine an entry below \(path)")
                }
                isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
            }
            if isDirectory {
                if subdirectory == nil { subdirectory = name }
                continue
            }
            if unlinkat(fd, name, 0) != 0 && errno != ENOENT {
                throw POSIX.failure("remove an entry below \(path)")
            }
        }
        return subdirectory
    }

    /// ("/var/lib/partctl/wpars", "web"); a bare name lives in the current directory.
    private static func split(_ path: String) -> (directory: String, name: String) {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return (".", String(trimmed)) }
        let directory = trimmed[..<slash]
        return (directory.isEmpty ? "/" : String(directory), String(trimmed[trimmed.index(after: slash)...]))
    }
}
