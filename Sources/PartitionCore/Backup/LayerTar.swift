import Glibc
import PartitionModel
import SystemKit

/// A WPAR's writable layer (its overlay upper directory) as a tar stream in OCI layer form: overlay
/// whiteouts (character devices 0:0) become empty `.wh.<name>` files and an opaque directory gets a
/// `.wh..wh..opq` entry, so that the member reads like any image layer. Owners are stored as IDs
/// inside the WPAR (a user-namespaced WPAR's host range subtracted), so that a restore under another
/// range gives them back to the same users inside.
///
/// The layer is walked through descriptors (openat/fstatat without following any symbolic link): a
/// link the WPAR planted is archived as a link, never followed on the host.
struct LayerTarWriter {
    /// The starts and length of the WPAR's host ID ranges; nil: IDs are stored as they are.
    var idRange: (uid: UInt32, gid: UInt32, count: UInt32)?
    /// Entries not archived (sockets, device nodes other than whiteouts), for the report.
    private(set) var skipped: [String] = []
    private var links: [String: String] = [:]

    init(idRange: (uid: UInt32, gid: UInt32, count: UInt32)?) { self.idRange = idRange }

    mutating func write(layer path: String, to writer: inout TarWriter) throws(PartitionError) {
        let root = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { throw POSIX.failure("open the writable layer \(path)") }
        defer { close(root) }
        try walk(root, prefix: "", into: &writer)
        try writer.finish()
    }

    private func inside(_ id: UInt32, group: Bool = false) -> UInt32 {
        guard let range = idRange else { return id }
        let start = group ? range.gid : range.uid
        return id >= start && id - start < range.count ? id - start : 65534
    }

    private mutating func walk(_ directory: Int32, prefix: String, into writer: inout TarWriter) throws(PartitionError) {
        for name in try Self.names(directory) {
            let path = prefix + name
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else { throw POSIX.failure("inspect \(path) in the layer") }
            var entry = TarWriter.Entry(name: path, type: .file, mode: UInt32(info.st_mode & 0o7777),
                                        uid: inside(info.st_uid), gid: inside(info.st_gid, group: true), mtime: Int64(info.st_mtim.tv_sec))
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                entry.type = .directory
                entry.name = path + "/"
                try writer.header(entry)
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw POSIX.failure("open \(path) in the layer") }
                defer { close(child) }
                if Self.isOpaque(child) {
                    try writer.file(TarWriter.Entry(name: path + "/.wh..wh..opq", type: .file, mode: 0o600), bytes: [])
                }
                try walk(child, prefix: path + "/", into: &writer)
            case S_IFREG:
                let key = "\(info.st_dev):\(info.st_ino)"
                if info.st_nlink > 1, let first = links[key] {
                    entry.type = .hardLink
                    entry.link = first
                    try writer.header(entry)
                    continue
                }
                let file = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard file >= 0 else { throw POSIX.failure("open \(path) in the layer") }
                defer { close(file) }
                var opened = stat()
                guard fstat(file, &opened) == 0, opened.st_ino == info.st_ino, opened.st_mode & S_IFMT == S_IFREG else {
                    throw PartitionError(.system, "The layer's file \(QuotedText.of(path)) changed while it was archived.")
                }
                entry.size = UInt64(opened.st_size)
                try writer.file(entry, from: file)
                if info.st_nlink > 1 { links[key] = path }
            case S_IFLNK:
                entry.type = .symlink
                entry.link = try Self.linkText(directory, name, path: path)
                try writer.header(entry)
            case S_IFCHR where info.st_rdev == 0:
                // overlayfs's whiteout: the file below is deleted in this layer.
                try writer.file(TarWriter.Entry(name: prefix + ".wh." + name, type: .file, mode: 0o600,
                                                uid: entry.uid, gid: entry.gid, mtime: entry.mtime), bytes: [])
            case S_IFIFO:
                entry.type = .fifo
                try writer.header(entry)
            default:
                skipped.append(path)
            }
        }
    }

    static func isOpaque(_ directory: Int32) -> Bool {
        for key in ["trusted.overlay.opaque", "user.overlay.opaque"] {
            var value = [UInt8](repeating: 0, count: 4)
            let count = value.withUnsafeMutableBytes { fgetxattrC(directory, key, $0.baseAddress, $0.count) }
            if count == 1 && value[0] == UInt8(ascii: "y") { return true }
        }
        return false
    }

    static func names(_ directory: Int32) throws(PartitionError) -> [String] {
        let copy = dup(directory)
        guard copy >= 0, let handle = fdopendir(copy) else { throw POSIX.failure("list a directory of the layer") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func linkText(_ directory: Int32, _ name: String, path: String) throws(PartitionError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlinkat(directory, name, &buffer, buffer.count - 1)
        guard count >= 0 else { throw POSIX.failure("read the link \(path) in the layer") }
        return String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Checks a layer member entry by entry as partctl checks an OCI image's layers (OciLayerCheck):
/// no absolute name, no `..`, no link out of the layer's root, no device node, no type it does not
/// know, IDs within the WPAR's 65536. Used before anything is created, and again while extracting.
enum LayerEntryRule {
    static func check(_ entry: TarEntry, label: String) throws(PartitionError) {
        func refuse(_ what: String) -> PartitionError {
            PartitionError(.invalidArgument, "\(label) \(what); partctl refuses the archive.")
        }
        let name = entry.name
        let shown = QuotedText.of(name)
        guard !name.isEmpty else { throw refuse("has an entry without a name") }
        if name.hasPrefix("/") { throw refuse("has the absolute entry \(shown)") }
        let parts = components(name)
        if parts.contains("..") { throw refuse("has the entry \(shown), whose '..' climbs out of the layer") }
        if parts.isEmpty { throw refuse("has the entry \(shown), which names the layer's root") }
        if let last = parts.last, last.hasPrefix(".wh."), last != ".wh..wh..opq" {
            let removed = last.dropFirst(4)
            if removed.isEmpty || removed == "." || removed == ".." || removed.hasPrefix(".wh.") {
                throw refuse("has the whiteout \(shown), which would remove \(removed.isEmpty ? "nothing" : "'\(removed)'")")
            }
        }
        if entry.uid > 65535 || entry.gid > 65535 {
            throw refuse("has the entry \(shown) owned by \(entry.uid):\(entry.gid), beyond a WPAR's 65536 IDs")
        }
        switch entry.type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"), UInt8(ascii: "5"), UInt8(ascii: "6"):
            return
        case UInt8(ascii: "1"):
            let target = components(entry.link)
            if entry.link.hasPrefix("/") || target.contains("..") || target.isEmpty {
                throw refuse("has the hard link \(shown) to \(QuotedText.of(entry.link)), outside the layer")
            }
        case UInt8(ascii: "2"):
            guard !entry.link.isEmpty else { throw refuse("has the symlink \(shown) with an empty target") }
            // Relative targets start in the link's directory, absolute ones at the WPAR's root.
            var depth = entry.link.hasPrefix("/") ? 0 : parts.count - 1
            for part in entry.link.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
                depth += part == ".." ? -1 : 1
                if depth < 0 { throw refuse("has the symlink \(shown) to \(QuotedText.of(entry.link)), which climbs out of the WPAR's root") }
            }
        case UInt8(ascii: "3"), UInt8(ascii: "4"):
            throw refuse("has the device node \(shown); a WPAR's layer holds none (WPARs get their own /dev)")
        default:
            throw refuse("has the entry \(shown), a \(entry.typeName), which partctl does not accept")
        }
    }

    static func components(_ path: String) -> [Substring] {
        path.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
    }

    /// Reads a whole layer stream, checking every entry; nothing is written.
    static func checkStream(fd: Int32, label: String) throws(PartitionError) {
        var reader = TarReader(fd: fd, label: label)
        while let entry = try reader.next() { try check(entry, label: label) }
    }
}

// <sys/xattr.h>, which Swift's Glibc module does not export.
@_silgen_name("fgetxattr")
private func fgetxattrC(_ fd: Int32, _ name: UnsafePointer<CChar>, _ value: UnsafeMutableRawPointer?, _ size: Int) -> Int
@_silgen_name("fsetxattr")
private func fsetxattrC(_ fd: Int32, _ name: UnsafePointer<CChar>, _ value: UnsafeRawPointer?, _ size: Int, _ flags: Int32) -> Int32

/// Sets the extended attribute `key` of the open file `fd` to `value`; true on success.
func setAttribute(_ fd: Int32, _ key: String, _ value: String) -> Bool {
    let bytes = Array(value.utf8)
    return bytes.withUnsafeBytes { fsetxattrC(fd, key, $0.baseAddress, $0.count, 0) } == 0
}
