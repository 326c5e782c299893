import AgentProtocol
import Glibc
import PartitionModel
import SystemKit

/// The agent's archive of a WPAR's writable layer (an overlay upper directory), for relocation:
/// what the layer holds and nothing else. Entries come parents first:
///
///     "PWLA1\n"
///     entry*  type u8 ('d' directory, 'f' file, 'l' symlink, 'w' overlay whiteout, 'p' fifo)
///             mode u32 (permission bits with setuid/setgid/sticky), uid u32, gid u32,
///             mtime s i64, ns u32, path u16 + bytes ("" is the layer's root),
///             xattrs u16 × (name u8 + bytes, value u32 + bytes) (trusted.overlay.*, security.capability, user.*),
///             then for 'f' size u64 + bytes, for 'l' target u16 + bytes
///     'E' count u32
///
/// Numbers are little-endian. Owners are written as IDs inside the WPAR's user namespace (the
/// same as outside without one), so the destination maps them to its own range. Hard links become
/// copies; sockets and device nodes other than whiteouts are left out (a WPAR cannot make them
/// without privileges). Unpacking treats the archive as hostile: another guest wrote it.
enum LayerArchive {
    static let magic = Array("PWLA1\n".utf8)
    static let maximumPath = 4096
    static let maximumDepth = 256
    static let maximumXattr = 64 << 10
    static let keptXattrPrefixes = ["trusted.overlay.", "security.capability", "user."]

    /// How IDs map between the guest and the inside of the WPAR (identity without a user namespace).
    struct IDMap {
        var mapping: UserNamespaceMappingView?

        /// Inside ID of a guest ID; unmapped ones become nobody (65534).
        func inside(uid: UInt32) -> UInt32 { mapping.map { $0.inside($0.uids, uid) } ?? uid }
        func inside(gid: UInt32) -> UInt32 { mapping.map { $0.inside($0.gids, gid) } ?? gid }
        func outside(uid: UInt32) -> UInt32 { mapping.map { $0.outside($0.uids, uid) } ?? uid }
        func outside(gid: UInt32) -> UInt32 { mapping.map { $0.outside($0.gids, gid) } ?? gid }
    }

    struct UserNamespaceMappingView {
        var uids: [(inside: UInt32, outside: UInt32, count: UInt32)]
        var gids: [(inside: UInt32, outside: UInt32, count: UInt32)]

        func inside(_ ranges: [(inside: UInt32, outside: UInt32, count: UInt32)], _ id: UInt32) -> UInt32 {
            for range in ranges where id >= range.outside && UInt64(id) < UInt64(range.outside) + UInt64(range.count) {
                return id - range.outside + range.inside
            }
            return 65534
        }

        func outside(_ ranges: [(inside: UInt32, outside: UInt32, count: UInt32)], _ id: UInt32) -> UInt32 {
            for range in ranges where id >= range.inside && UInt64(id) < UInt64(range.inside) + UInt64(range.count) {
                return id - range.inside + range.outside
            }
            return 65534
        }
    }

    static func failure(_ step: String, _ code: Int32 = errno) -> PartitionError {
        PartitionError(.system, "Could not \(step): \(String(cString: strerror(code))).")
    }

    static func corrupt(_ what: String) -> PartitionError {
        PartitionError(.invalidArgument, "The layer archive is not valid: \(what).")
    }
}

// MARK: Packing

extension LayerArchive {
    /// Writes the tree at `upper` to `fd`; returns the number of entries. `upper` must not be in use.
    static func pack(upper: String, ids: IDMap, to fd: Int32) throws(PartitionError) -> Int {
        let root = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { throw failure("open the writable layer \(upper)") }
        defer { close(root) }
        var writer = ArchiveWriter(fd: fd)
        writer.bytes(magic)
        var count = 0
        var status = stat()
        guard fstat(root, &status) == 0 else { throw failure("examine \(upper)") }
        try packEntry(type: "d", fd: root, status: status, path: "", ids: ids, writer: &writer)
        count += 1
        try packDirectory(root, path: "", depth: 1, ids: ids, writer: &writer, count: &count)
        writer.byte(UInt8(ascii: "E"))
        writer.u32(UInt32(count))
        try writer.flush()
        return count
    }

    private static func packDirectory(_ directory: Int32, path: String, depth: Int, ids: IDMap,
                                      writer: inout ArchiveWriter, count: inout Int) throws(PartitionError) {
        guard depth <= maximumDepth else { throw PartitionError(.outOfRange, "The writable layer nests deeper than \(maximumDepth) directories.") }
        for name in try names(in: directory, path: path) {
            let child = path.isEmpty ? name : path + "/" + name
            var status = stat()
            guard fstatat(directory, name, &status, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("examine \(child) in the layer") }
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                let fd = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw failure("open \(child) in the layer") }
                defer { close(fd) }
                try packEntry(type: "d", fd: fd, status: status, path: child, ids: ids, writer: &writer)
                count += 1
                try packDirectory(fd, path: child, depth: depth + 1, ids: ids, writer: &writer, count: &count)
            case S_IFREG:
                let fd = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
                guard fd >= 0 else { throw failure("open \(child) in the layer") }
                defer { close(fd) }
                try packEntry(type: "f", fd: fd, status: status, path: child, ids: ids, writer: &writer)
                writer.u64(UInt64(status.st_size))
                try writer.copy(from: fd, count: UInt64(status.st_size), what: child)
                count += 1
            case S_IFLNK:
                var target = [UInt8](repeating: 0, count: maximumPath + 1)
                let length = readlinkat(directory, name, &target, target.count)
                guard length >= 0, length <= maximumPath else { throw failure("read the link \(child) in the layer") }
                try packEntry(type: "l", fd: nil, status: status, path: child, ids: ids, writer: &writer)
                writer.u16(UInt16(length))
                writer.bytes(target[..<length])
                count += 1
            case S_IFCHR where status.st_rdev == 0:
                try packEntry(type: "w", fd: nil, status: status, path: child, ids: ids, writer: &writer)
                count += 1
            case S_IFIFO:
                try packEntry(type: "p", fd: nil, status: status, path: child, ids: ids, writer: &writer)
                count += 1
            default:
                continue  // sockets and device nodes do not move
            }
        }
    }

    private static func packEntry(type: Character, fd: Int32?, status: stat, path: String, ids: IDMap,
                                  writer: inout ArchiveWriter) throws(PartitionError) {
        let pathBytes = Array(path.utf8)
        guard pathBytes.count <= maximumPath else { throw PartitionError(.outOfRange, "A path in the writable layer is longer than \(maximumPath) bytes.") }
        writer.byte(type.asciiValue!)
        writer.u32(UInt32(status.st_mode & 0o7777))
        writer.u32(ids.inside(uid: status.st_uid))
        writer.u32(ids.inside(gid: status.st_gid))
        writer.u64(UInt64(bitPattern: Int64(status.st_mtim.tv_sec)))
        writer.u32(UInt32(status.st_mtim.tv_nsec))
        writer.u16(UInt16(pathBytes.count))
        writer.bytes(pathBytes)
        let attributes = fd.map { xattrs(of: $0) } ?? []
        writer.u16(UInt16(attributes.count))
        for (name, value) in attributes {
            writer.byte(UInt8(name.count))
            writer.bytes(name)
            writer.u32(UInt32(value.count))
            writer.bytes(value)
        }
    }

    /// The kept extended attributes of an open file or directory.
    private static func xattrs(of fd: Int32) -> [([UInt8], [UInt8])] {
        let size = Xattr.list(fd, nil, 0)
        guard size > 0 else { return [] }
        var list = [CChar](repeating: 0, count: size)
        let got = list.withUnsafeMutableBufferPointer { Xattr.list(fd, $0.baseAddress, size) }
        guard got > 0 else { return [] }
        var result: [([UInt8], [UInt8])] = []
        for raw in list[..<got].split(separator: 0) {
            let name = raw.map { UInt8(bitPattern: $0) }
            let text = String(decoding: name, as: UTF8.self)
            guard name.count <= 255, keptXattrPrefixes.contains(where: { text.hasPrefix($0) }) else { continue }
            let length = Xattr.get(fd, text, nil, 0)
            guard length >= 0, length <= maximumXattr else { continue }
            var value = [UInt8](repeating: 0, count: length)
            let read = value.withUnsafeMutableBytes { Xattr.get(fd, text, $0.baseAddress, length) }
            guard read >= 0 else { continue }
            result.append((name, Array(value[..<read])))
        }
        return result
    }

    /// The names in a directory, sorted, without "." and "..".
    static func names(in directory: Int32, path: String) throws(PartitionError) -> [String] {
        let copy = dup(directory)
        guard copy >= 0, let handle = fdopendir(copy) else {
            if copy >= 0 { close(copy) }
            throw failure("list \(path.isEmpty ? "the layer" : path)")
        }
        defer { closedir(handle) }
        rewinddir(handle)
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
}

/// Buffered little-endian output to a descriptor, with the checksum of everything written.
struct ArchiveWriter {
    let fd: Int32
    var buffer: [UInt8] = []
    var failed = false

    init(fd: Int32) {
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    mutating func byte(_ value: UInt8) { buffer.append(value); spill() }
    mutating func bytes<Bytes: Collection<UInt8>>(_ value: Bytes) { buffer.append(contentsOf: value); spill() }
    mutating func u16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { bytes($0) } }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes($0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes($0) } }

    private mutating func spill() {
        if buffer.count >= 1 << 16 { write() }
    }

    private mutating func write() {
        if !failed && !FileIO.writeAll(fd, buffer) { failed = true }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Exactly `count` bytes of `source` (a file that changes size meanwhile is an error).
    mutating func copy(from source: Int32, count: UInt64, what: String) throws(PartitionError) {
        var left = count
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while left > 0 {
            let got = chunk.withUnsafeMutableBytes { buffer in POSIX.retryingInterrupts { read(source, buffer.baseAddress, Int(min(UInt64(buffer.count), left))) } }
            guard got > 0 else { throw LayerArchive.failure("read \(what) in the layer (it changed while packed)", got < 0 ? errno : EIO) }
            bytes(chunk[..<got])
            left -= UInt64(got)
        }
    }

    mutating func flush() throws(PartitionError) {
        write()
        if failed { throw LayerArchive.failure("write the layer archive") }
    }
}

// MARK: Unpacking

extension LayerArchive {
    /// Unpacks the archive in `fd` into `target`, a directory this call creates (it must not exist).
    /// Every name is checked and every parent reached without following a link, so nothing lands
    /// outside `target`; a bad archive leaves a partial tree for the caller to remove.
    static func unpack(from fd: Int32, into target: String, ids: IDMap) throws(PartitionError) -> Int {
        var reader = ArchiveReader(fd: fd)
        guard try reader.bytes(magic.count) == magic else { throw corrupt("it does not start with the layer archive's mark") }
        guard mkdir(target, 0o700) == 0 else { throw failure("create \(target)") }
        let root = open(target, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard root >= 0 else { throw failure("open \(target)") }
        defer { close(root) }
        var parents = ParentCache(root: root)
        defer { parents.close() }
        var count = 0
        while true {
            let type = try reader.u8()
            if type == UInt8(ascii: "E") {
                guard try reader.u32() == UInt32(count) else { throw corrupt("its entry count does not match its entries") }
                guard try reader.atEnd() else { throw corrupt("bytes follow its end") }
                return count
            }
            let mode = try reader.u32() & 0o7777
            let uid = ids.outside(uid: try reader.u32())
            let gid = ids.outside(gid: try reader.u32())
            let seconds = Int64(bitPattern: try reader.u64())
            let nanoseconds = try reader.u32()
            guard nanoseconds < 1_000_000_000 else { throw corrupt("an entry's time is not one") }
            let pathBytes = try reader.bytes(Int(try reader.u16()))
            var attributes: [(String, [UInt8])] = []
            for _ in 0..<(try reader.u16()) {
                let name = try reader.bytes(Int(try reader.u8()))
                let length = Int(try reader.u32())
                guard length <= maximumXattr else { throw corrupt("an extended attribute is too large") }
                let text = String(decoding: name, as: UTF8.self)
                guard !name.contains(0), keptXattrPrefixes.contains(where: { text.hasPrefix($0) }) else {
                    throw corrupt("it carries an extended attribute a layer does not keep")
                }
                attributes.append((text, try reader.bytes(length)))
            }
            let times = [timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds)), timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds))]
            if count == 0 {
                guard type == UInt8(ascii: "d"), pathBytes.isEmpty else { throw corrupt("it does not start with the layer's root") }
                try apply(root, uid: uid, gid: gid, mode: mode, attributes: attributes, times: nil, what: "the layer's root")
                count += 1
                continue
            }
            let (parentPath, name) = try split(pathBytes)
            let parent = try parents.directory(parentPath)
            let path = String(decoding: pathBytes, as: UTF8.self)
            switch type {
            case UInt8(ascii: "d"):
                guard mkdirat(parent, name, 0o700) == 0 else { throw failure("create \(path)") }
                let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard fd >= 0 else { throw failure("open \(path)") }
                defer { Glibc.close(fd) }
                try apply(fd, uid: uid, gid: gid, mode: mode, attributes: attributes, times: nil, what: path)
            case UInt8(ascii: "f"):
                let size = try reader.u64()
                let fd = openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw failure("create \(path)") }
                defer { Glibc.close(fd) }
                try reader.copy(size, to: fd, what: path)
                try apply(fd, uid: uid, gid: gid, mode: mode, attributes: attributes, times: times, what: path)
            case UInt8(ascii: "l"):
                let link = try reader.bytes(Int(try reader.u16()))
                guard !link.isEmpty, !link.contains(0) else { throw corrupt("the link \(path) has no valid target") }
                guard symlinkat(String(decoding: link, as: UTF8.self), parent, name) == 0 else { throw failure("create the link \(path)") }
                try applyAt(parent, name, uid: uid, gid: gid, mode: nil, times: times, what: path)
            case UInt8(ascii: "w"):
                guard mknodat(parent, name, S_IFCHR | 0o000, 0) == 0 else { throw failure("create the whiteout \(path)") }
                try applyAt(parent, name, uid: uid, gid: gid, mode: nil, times: times, what: path)
            case UInt8(ascii: "p"):
                guard mkfifoat(parent, name, 0o600) == 0 else { throw failure("create the fifo \(path)") }
                try applyAt(parent, name, uid: uid, gid: gid, mode: mode, times: times, what: path)
            default:
                throw corrupt("an entry has an unknown type")
            }
            count += 1
        }
    }

    /// "a/b/c" as ("a/b", "c"), every component checked: not empty, not "." or "..", no NUL.
    static func split(_ path: [UInt8]) throws(PartitionError) -> (String, String) {
        guard !path.isEmpty, path.count <= maximumPath, !path.contains(0) else { throw corrupt("an entry has no valid path") }
        let components = path.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        guard components.count <= maximumDepth else { throw corrupt("an entry nests too deep") }
        for component in components {
            guard !component.isEmpty, !component.elementsEqual([UInt8(ascii: ".")]),
                  !component.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) else {
                throw corrupt("an entry's path has an empty, '.' or '..' component")
            }
        }
        let name = String(decoding: components.last!, as: UTF8.self)
        let parent = components.dropLast().map { String(decoding: $0, as: UTF8.self) }.joined(separator: "/")
        return (parent, name)
    }

    /// Owner, then mode (chown clears setuid), extended attributes and times of an open entry.
    private static func apply(_ fd: Int32, uid: UInt32, gid: UInt32, mode: UInt32, attributes: [(String, [UInt8])],
                              times: [timespec]?, what: String) throws(PartitionError) {
        for (name, value) in attributes where Xattr.set(fd, name, value) != 0 {
            throw failure("set the attribute \(name) of \(what)")
        }
        guard fchown(fd, uid, gid) == 0 else { throw failure("set the owner of \(what)") }
        guard fchmod(fd, mode_t(mode)) == 0 else { throw failure("set the mode of \(what)") }
        if let times, futimens(fd, times) != 0 { throw failure("set the times of \(what)") }
    }

    private static func applyAt(_ parent: Int32, _ name: String, uid: UInt32, gid: UInt32, mode: UInt32?,
                                times: [timespec], what: String) throws(PartitionError) {
        guard fchownat(parent, name, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("set the owner of \(what)") }
        if let mode, fchmodat(parent, name, mode_t(mode), 0) != 0 { throw failure("set the mode of \(what)") }
        guard utimensat(parent, name, times, AT_SYMLINK_NOFOLLOW) == 0 else { throw failure("set the times of \(what)") }
    }
}

/// The directory an entry goes into, opened component by component from the root without
/// following links; the last one is kept open, since entries come parents first.
private struct ParentCache {
    let root: Int32
    var path = ""
    var fd: Int32 = -1

    init(root: Int32) { self.root = root }

    mutating func directory(_ wanted: String) throws(PartitionError) -> Int32 {
        if wanted.isEmpty { return root }
        if wanted == path && fd >= 0 { return fd }
        close()
        var current = dup(root)
        guard current >= 0 else { throw LayerArchive.failure("open the layer") }
        for component in wanted.split(separator: "/") {
            let next = openat(current, String(component), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            Glibc.close(current)
            guard next >= 0 else {
                throw code == ELOOP || code == ENOTDIR || code == ENOENT
                    ? LayerArchive.corrupt("an entry's parent \(wanted) is not a directory before it")
                    : LayerArchive.failure("open \(wanted)", code)
            }
            current = next
        }
        path = wanted
        fd = current
        return fd
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
        path = ""
    }
}

/// Buffered little-endian input from a descriptor; a short archive is an error, never a guess.
struct ArchiveReader {
    let fd: Int32
    var buffer: [UInt8] = []
    var position = 0
    var ended = false

    init(fd: Int32) { self.fd = fd }

    private mutating func fill(_ needed: Int) throws(PartitionError) {
        while buffer.count - position < needed && !ended {
            if position > 0 {
                buffer.removeFirst(position)
                position = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let got = chunk.withUnsafeMutableBytes { buffer in POSIX.retryingInterrupts { read(fd, buffer.baseAddress, buffer.count) } }
            guard got >= 0 else { throw LayerArchive.failure("read the layer archive") }
            if got == 0 { ended = true } else { buffer.append(contentsOf: chunk[..<got]) }
        }
        guard buffer.count - position >= needed else { throw LayerArchive.corrupt("it ends in the middle of an entry") }
    }

    mutating func bytes(_ count: Int) throws(PartitionError) -> [UInt8] {
        try fill(count)
        defer { position += count }
        return Array(buffer[position..<position + count])
    }

    mutating func u8() throws(PartitionError) -> UInt8 { try bytes(1)[0] }
    mutating func u16() throws(PartitionError) -> UInt16 { try number(2, UInt16.self) }
    mutating func u32() throws(PartitionError) -> UInt32 { try number(4, UInt32.self) }
    mutating func u64() throws(PartitionError) -> UInt64 { try number(8, UInt64.self) }

    private mutating func number<T: FixedWidthInteger>(_ size: Int, _ type: T.Type) throws(PartitionError) -> T {
        let raw = try bytes(size)
        var value: T = 0
        for (index, byte) in raw.enumerated() { value |= T(byte) << (8 * index) }
        return value
    }

    mutating func atEnd() throws(PartitionError) -> Bool {
        if buffer.count > position { return false }
        do { try fill(1) } catch { return true }
        return false
    }

    /// `count` bytes of file content to `target`, in pieces.
    mutating func copy(_ count: UInt64, to target: Int32, what: String) throws(PartitionError) {
        var left = count
        while left > 0 {
            let piece = Int(min(left, 1 << 16))
            let data = try bytes(piece)
            guard FileIO.writeAll(target, data) else { throw LayerArchive.failure("write \(what)") }
            left -= UInt64(piece)
        }
    }
}
