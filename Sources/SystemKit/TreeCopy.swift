import Glibc
import PartitionModel

/// Copies a directory tree that a WPAR shaped (its writable layer) into a new directory, keeping
/// what the layer means: owners, modes (setuid included), extended attributes (overlayfs keeps
/// opaque directories and redirects in `trusted.overlay.*`), times, symlinks as they are, device
/// nodes and FIFOs (overlayfs whiteouts are 0/0 character devices), and hard links among the
/// copied files. The copy shares no inode with the source: a later write to one never shows in
/// the other. A regular file is cloned (FICLONE) where the file system shares blocks, else copied.
///
/// Every step is relative to an opened directory and never follows a symlink, so a link the WPAR
/// planted is copied as a link and never read through; the copy stays on the source's file system
/// (a mount below the top is an error).
public enum TreeCopy {
    /// Deeper trees are refused: each level holds two descriptors while it is copied.
    public static let maximumDepth = 200

    /// Copies the directory `source` (an opened directory) as the new directory `name` in
    /// `destinationParent`, which must not exist yet. On failure the caller removes what was made.
    public static func copy(from source: Int32, to destinationParent: Int32, name: String, what: String) throws(PartitionError) {
        let name = Array(name.utf8CString)
        var top = stat()
        guard fstat(source, &top) == 0 else { throw POSIX.failure("examine \(what)") }
        guard mkdirat(destinationParent, name, 0o700) == 0 else { throw POSIX.failure("create the copy of \(what)") }
        let destination = POSIX.retryingInterrupts { openat(destinationParent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard destination >= 0 else { throw POSIX.failure("open the copy of \(what)") }
        defer { close(destination) }
        var state = State(device: top.st_dev, topDestination: destination, what: what)
        try state.copyEntries(from: source, to: destination, relative: [], depth: 0)
        try state.copyMetadata(status: top, sourceDirectory: nil, sourceName: nil, sourceFD: source,
                               destinationDirectory: destinationParent, name: name, fd: destination)
    }

    private struct State {
        let device: dev_t
        let topDestination: Int32
        let what: String
        /// Files with more than one link already copied: their inode in the source, their path in the copy.
        var links: [ino_t: [CChar]] = [:]

        mutating func copyEntries(from source: Int32, to destination: Int32, relative: [CChar], depth: Int) throws(PartitionError) {
            guard depth < TreeCopy.maximumDepth else {
                throw PartitionError(.unsupported, "\(what) is deeper than \(TreeCopy.maximumDepth) directories; it cannot be copied.")
            }
            for name in try TreeCopy.names(in: source, what: what) {
                var status = stat()
                guard fstatat(source, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else {
                    if errno == ENOENT { continue }
                    throw POSIX.failure("examine an entry of \(what)")
                }
                let path: [CChar] = relative.isEmpty ? name : Array(relative.dropLast()) + [47] + name
                switch status.st_mode & S_IFMT {
                case S_IFDIR:
                    guard status.st_dev == device else {
                        throw PartitionError(.invalidState, "A file system is mounted below \(what); it cannot be copied.")
                    }
                    let child = POSIX.retryingInterrupts { openat(source, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                    guard child >= 0 else { throw POSIX.failure("open a directory of \(what)") }
                    defer { close(child) }
                    guard mkdirat(destination, name, 0o700) == 0 else { throw POSIX.failure("create a directory in the copy of \(what)") }
                    let made = POSIX.retryingInterrupts { openat(destination, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
                    guard made >= 0 else { throw POSIX.failure("open a directory in the copy of \(what)") }
                    defer { close(made) }
                    try copyEntries(from: child, to: made, relative: path, depth: depth + 1)
                    try copyMetadata(status: status, sourceDirectory: nil, sourceName: nil, sourceFD: child,
                                     destinationDirectory: destination, name: name, fd: made)
                case S_IFREG:
                    if status.st_nlink > 1, let first = links[status.st_ino] {
                        guard linkat(topDestination, first, destination, name, 0) == 0 else {
                            throw POSIX.failure("link a file in the copy of \(what)")
                        }
                        continue
                    }
                    try copyFile(name, status: status, from: source, to: destination)
                    if status.st_nlink > 1 { links[status.st_ino] = path }
                case S_IFLNK:
                    var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                    let length = readlinkat(source, name, &target, target.count - 1)
                    guard length >= 0 else { throw POSIX.failure("read a symbolic link of \(what)") }
                    target[length] = 0
                    guard symlinkat(target, destination, name) == 0 else { throw POSIX.failure("create a symbolic link in the copy of \(what)") }
                    try copyMetadata(status: status, sourceDirectory: source, sourceName: name, sourceFD: nil,
                                     destinationDirectory: destination, name: name, fd: nil)
                default:  // character and block devices, FIFOs, sockets: the node itself, never opened
                    guard mknodat(destination, name, status.st_mode & S_IFMT | 0o600, status.st_rdev) == 0 else {
                        throw POSIX.failure("create a special file in the copy of \(what)")
                    }
                    try copyMetadata(status: status, sourceDirectory: source, sourceName: name, sourceFD: nil,
                                     destinationDirectory: destination, name: name, fd: nil)
                }
            }
        }

        private func copyFile(_ name: [CChar], status: stat, from source: Int32, to destination: Int32) throws(PartitionError) {
            let input = POSIX.retryingInterrupts { openat(source, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC) }
            guard input >= 0 else { throw POSIX.failure("open a file of \(what)") }
            defer { close(input) }
            var opened = stat()
            // The entry examined is the file opened (nothing swapped it for a FIFO or a device meanwhile).
            guard fstat(input, &opened) == 0, opened.st_ino == status.st_ino, (opened.st_mode & S_IFMT) == S_IFREG else {
                throw PartitionError(.invalidState, "A file of \(what) changed while it was copied.")
            }
            let output = POSIX.retryingInterrupts { openat(destination, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            guard output >= 0 else { throw POSIX.failure("create a file in the copy of \(what)") }
            defer { close(output) }
            if ioctl(output, TreeCopy.ficlone, input) != 0 {
                try TreeCopy.copyBytes(from: input, to: output, size: opened.st_size, what: what)
            }
            try copyMetadata(status: opened, sourceDirectory: nil, sourceName: nil, sourceFD: input,
                             destinationDirectory: destination, name: name, fd: output)
        }

        /// Owner first (a chown clears setuid bits and file capabilities), then extended
        /// attributes, the mode and the times. A symlink or special file is reached by its name in
        /// its opened directory through /proc/self/fd, with the l* calls that never follow the last component.
        func copyMetadata(status: stat, sourceDirectory: Int32?, sourceName: [CChar]?, sourceFD: Int32?,
                          destinationDirectory: Int32, name: [CChar], fd: Int32?) throws(PartitionError) {
            guard fchownat(destinationDirectory, name, status.st_uid, status.st_gid, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw POSIX.failure("set the owner of a file in the copy of \(what)")
            }
            let sourcePath = sourceFD.map { TreeCopy.procPath($0, nil) } ?? TreeCopy.procPath(sourceDirectory!, sourceName)
            let destinationPath = fd.map { TreeCopy.procPath($0, nil) } ?? TreeCopy.procPath(destinationDirectory, name)
            try TreeCopy.copyAttributes(from: sourcePath, to: destinationPath, what: what)
            if (status.st_mode & S_IFMT) != S_IFLNK {
                let mode = status.st_mode & 0o7777
                let changed = fd.map { fchmod($0, mode) } ?? fchmodat(destinationDirectory, name, mode, 0)
                guard changed == 0 else { throw POSIX.failure("set the mode of a file in the copy of \(what)") }
            }
            var times = [status.st_atim, status.st_mtim]
            guard utimensat(destinationDirectory, name, &times, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw POSIX.failure("set the times of a file in the copy of \(what)")
            }
        }
    }

    /// `/proc/self/fd/N[/name]` as a C string: the opened object itself, or `name` in the opened directory.
    static func procPath(_ fd: Int32, _ name: [CChar]?) -> [CChar] {
        let base = Array("/proc/self/fd/\(fd)".utf8CString)
        guard let name else { return base }
        return Array(base.dropLast()) + [47] + name
    }

    /// <linux/fs.h> FICLONE: _IOW(0x94, 9, int).
    static let ficlone: UInt = 0x4004_9409

    static func copyBytes(from input: Int32, to output: Int32, size: off_t, what: String) throws(PartitionError) {
        var remaining = Int(size)
        while remaining > 0 {
            let copied = copyFileRange(input, nil, output, nil, min(remaining, 1 << 30), 0)
            if copied > 0 { remaining -= copied; continue }
            if copied == 0 { break }  // the file shrank meanwhile
            if errno == EINTR { continue }
            if errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP { return try readWrite(input, output, what: what) }
            throw POSIX.failure("copy a file of \(what)")
        }
    }

    private static func readWrite(_ input: Int32, _ output: Int32, what: String) throws(PartitionError) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = POSIX.retryingInterrupts { read(input, &buffer, buffer.count) }
            guard count >= 0 else { throw POSIX.failure("read a file of \(what)") }
            if count == 0 { return }
            guard FileIO.writeAll(output, Array(buffer[0..<count])) else { throw POSIX.failure("write a file in the copy of \(what)") }
        }
    }

    /// Every extended attribute of `source` onto `destination`, neither followed if a symlink.
    static func copyAttributes(from source: [CChar], to destination: [CChar], what: String) throws(PartitionError) {
        var size = listAttributes(source, nil, 0)
        if size < 0 {
            if errno == ENOTSUP || errno == ENODATA { return }
            throw POSIX.failure("list the extended attributes of a file of \(what)")
        }
        if size == 0 { return }
        var list = [CChar](repeating: 0, count: size + 256)
        size = listAttributes(source, &list, list.count)
        guard size >= 0 else { throw POSIX.failure("list the extended attributes of a file of \(what)") }
        var start = 0
        while start < size {
            var end = start
            while end < size && list[end] != 0 { end += 1 }
            let name = Array(list[start...end])
            start = end + 1
            var value = [UInt8](repeating: 0, count: 65536)
            let length = getAttribute(source, name, &value, value.count)
            if length < 0 {
                if errno == ENODATA { continue }
                throw POSIX.failure("read an extended attribute of a file of \(what)")
            }
            guard setAttribute(destination, name, value, length, 0) == 0 else {
                throw POSIX.failure("set an extended attribute in the copy of \(what)")
            }
        }
    }

    /// The names in a directory, "." and ".." left out.
    static func names(in directory: Int32, what: String) throws(PartitionError) -> [[CChar]] {
        let listing = POSIX.retryingInterrupts { openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard listing >= 0, let stream = fdopendir(listing) else {
            let cause = errno
            if listing >= 0 { close(listing) }
            throw POSIX.failure("read a directory of \(what)", errno: cause)
        }
        defer { closedir(stream) }
        var names: [[CChar]] = []
        while let entry = readdir(stream) {
            // The name's bytes as they are: a name that is not UTF-8 is copied, not mangled or skipped.
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in raw.prefix { $0 != 0 }.map { CChar(bitPattern: $0) } + [0] }
            if name != [46, 0] && name != [46, 46, 0] { names.append(name) }
        }
        return names
    }
}
