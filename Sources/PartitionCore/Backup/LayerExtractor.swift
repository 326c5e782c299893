import Glibc
import PartitionModel
import SystemKit

/// Unpacks a checked layer member into a new WPAR's empty upper directory. Every entry is checked
/// again (LayerEntryRule) and placed through descriptors: each parent is opened below the layer's
/// root without following a symbolic link (one the archive made earlier is never walked through),
/// files are made with O_EXCL (an entry never lands on one already there). `.wh.<name>` entries
/// become overlayfs whiteouts again and `.wh..wh..opq` the opaque mark; owners get the new WPAR's
/// range added.
struct LayerExtractor {
    let label: String
    /// The starts of the new WPAR's host ID ranges; 0 without a user namespace.
    let idBase: (uid: UInt32, gid: UInt32)
    /// The overlay's xattr namespace: `user.` for an overlay mounted in a user namespace (userxattr).
    let opaqueKey: String

    func extract(fd: Int32, into upper: String) throws(PartitionError) {
        let root = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { throw POSIX.failure("open the new writable layer \(upper)") }
        defer { close(root) }
        var reader = TarReader(fd: fd, label: label)
        while let entry = try reader.next() {
            try LayerEntryRule.check(entry, label: label)
            let parts = LayerEntryRule.components(entry.name).map(String.init)
            let parent = try openParent(root, parts.dropLast())
            defer { if parent != root { close(parent) } }
            let name = parts.last!
            let uid = entry.uid + idBase.uid, gid = entry.gid + idBase.gid
            if name == ".wh..wh..opq" {
                guard setAttribute(parent, opaqueKey, "y") else { throw POSIX.failure("mark \(entry.name) opaque") }
                continue
            }
            if name.hasPrefix(".wh.") {
                let removed = String(name.dropFirst(4))
                guard mknodat(parent, removed, S_IFCHR | 0o000, 0) == 0 else { throw POSIX.failure("make the whiteout \(entry.name)") }
                try own(parent, removed, uid, gid, mode: nil, entry: entry)
                continue
            }
            switch entry.type {
            case UInt8(ascii: "5"):
                if mkdirat(parent, name, 0o700) != 0 {
                    var info = stat()
                    guard errno == EEXIST, fstatat(parent, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFDIR else {
                        throw refuse("has the directory \(QuotedText.of(entry.name)) where something else already is")
                    }
                }
                try own(parent, name, uid, gid, mode: entry.mode, entry: entry)
            case UInt8(ascii: "2"):
                guard symlinkat(entry.link, parent, name) == 0 else {
                    throw errno == EEXIST ? refuse("has the entry \(QuotedText.of(entry.name)) twice") : POSIX.failure("make the link \(entry.name)")
                }
                try own(parent, name, uid, gid, mode: nil, entry: entry)
            case UInt8(ascii: "1"):
                let targetParts = LayerEntryRule.components(entry.link).map(String.init)
                let targetParent = try openParent(root, targetParts.dropLast())
                defer { if targetParent != root { close(targetParent) } }
                var info = stat()
                guard fstatat(targetParent, targetParts.last!, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFREG else {
                    throw refuse("has the hard link \(QuotedText.of(entry.name)) to \(QuotedText.of(entry.link)), which is not a file before it")
                }
                guard linkat(targetParent, targetParts.last!, parent, name, 0) == 0 else {
                    throw errno == EEXIST ? refuse("has the entry \(QuotedText.of(entry.name)) twice") : POSIX.failure("make the hard link \(entry.name)")
                }
            case UInt8(ascii: "6"):
                guard mkfifoat(parent, name, 0o600) == 0 else {
                    throw errno == EEXIST ? refuse("has the entry \(QuotedText.of(entry.name)) twice") : POSIX.failure("make the FIFO \(entry.name)")
                }
                try own(parent, name, uid, gid, mode: entry.mode, entry: entry)
            default:
                let file = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard file >= 0 else {
                    throw errno == EEXIST ? refuse("has the entry \(QuotedText.of(entry.name)) twice") : POSIX.failure("make the file \(entry.name)")
                }
                defer { close(file) }
                try reader.forEachChunk { (bytes) throws(PartitionError) in
                    guard FileIO.writeAll(file, bytes) else { throw POSIX.failure("write \(entry.name)") }
                }
                // Owner first: chown clears the setuid and setgid bits, the mode sets them again.
                guard fchown(file, uid, gid) == 0, fchmod(file, mode_t(entry.mode & 0o7777)) == 0 else {
                    throw POSIX.failure("set the owner and mode of \(entry.name)")
                }
                var times = [timespec(tv_sec: Int(entry.mtime), tv_nsec: 0), timespec(tv_sec: Int(entry.mtime), tv_nsec: 0)]
                _ = futimens(file, &times)
            }
        }
    }

    private func refuse(_ what: String) -> PartitionError {
        PartitionError(.invalidArgument, "\(label) \(what); partctl refuses the archive.")
    }

    /// The directory `parts` below `root`, made (0755, root's) where missing, never through a link.
    private func openParent(_ root: Int32, _ parts: ArraySlice<String>) throws(PartitionError) -> Int32 {
        var current = root
        for part in parts {
            if mkdirat(current, part, 0o755) != 0 && errno != EEXIST { throw POSIX.failure("make the directory \(part) of the layer") }
            let next = openat(current, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            if current != root { close(current) }
            guard next >= 0 else {
                if code == ELOOP || code == ENOTDIR {
                    throw refuse("has an entry below \(QuotedText.of(parts.joined(separator: "/"))), which is not a directory")
                }
                throw POSIX.failure("open the directory \(part) of the layer", errno: code)
            }
            current = next
        }
        return current
    }

    private func own(_ parent: Int32, _ name: String, _ uid: UInt32, _ gid: UInt32, mode: UInt32?, entry: TarEntry) throws(PartitionError) {
        guard fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else { throw POSIX.failure("set the owner of \(entry.name)") }
        if let mode, fchmodat(parent, name, mode_t(mode & 0o7777), 0) != 0 { throw POSIX.failure("set the mode of \(entry.name)") }
    }
}
