import Glibc
import PartitionImages
import PartitionModel
import SystemKit

/// One header of a tar stream, with the pax and GNU long-name records before it applied.
struct TarEntry {
    var name: String
    /// The tar type byte ('0' or NUL regular file, '1' hard link, '2' symlink, '5' directory, ...).
    var type: UInt8
    var size: UInt64
    var mode: UInt32
    var uid: UInt32
    var gid: UInt32
    var mtime: Int64
    var link: String

    var isRegular: Bool { type == UInt8(ascii: "0") || type == 0 || type == UInt8(ascii: "7") }

    /// The type as tar names it, for messages.
    var typeName: String {
        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): return "regular file"
        case UInt8(ascii: "1"): return "hard link"
        case UInt8(ascii: "2"): return "symbolic link"
        case UInt8(ascii: "3"): return "character device"
        case UInt8(ascii: "4"): return "block device"
        case UInt8(ascii: "5"): return "directory"
        case UInt8(ascii: "6"): return "FIFO"
        default: return type >= 0x20 && type < 0x7f ? "entry of tar type '\(Character(Unicode.Scalar(type)))'" : "entry of tar type \(type)"
        }
    }
}

/// Reads a tar stream header by header from a descriptor, strictly: a header whose checksum does
/// not match, a number that is not one, a stream that ends before its end-of-archive marker, or
/// anything but zeros after it is refused, one line naming `label` (the archive, or a member of it).
/// Nothing is trusted: the caller decides what each entry may be.
struct TarReader {
    let label: String
    private var source: ByteSource
    /// Bytes of the current entry's data not read yet, and the padding after them.
    private var left: UInt64 = 0
    private var padding: UInt64 = 0

    init(fd: Int32, label: String) {
        self.label = label
        source = ByteSource(fd: fd)
    }

    func refuse(_ what: String) -> PartitionError {
        PartitionError(.invalidArgument, "\(label): \(what).")
    }

    /// The next entry, or nil at the end-of-archive marker (after which only zeros may follow).
    mutating func next() throws(PartitionError) -> TarEntry? {
        try skipData()
        var pax: [String: String] = [:]
        var longName: String?
        var longLink: String?
        while true {
            guard let header = try source.read(512) else { throw refuse("ends before its end-of-archive marker (truncated)") }
            if header.allSatisfy({ $0 == 0 }) {
                try checkEnd()
                return nil
            }
            try checkSum(header)
            let type = header[156]
            let size = try number(header[124..<136], "size")
            switch type {
            case UInt8(ascii: "x"):
                for (key, value) in try parsePax(try extended(size)) { pax[key] = value }
                continue
            case UInt8(ascii: "g"):
                _ = try extended(size)
                continue
            case UInt8(ascii: "L"):
                longName = Self.text(try extended(size)[...])
                continue
            case UInt8(ascii: "K"):
                longLink = Self.text(try extended(size)[...])
                continue
            default:
                break
            }
            var name = pax["path"] ?? longName ?? Self.text(header[0..<100])
            if pax["path"] == nil && longName == nil && header[257..<263].elementsEqual(Array("ustar\0".utf8)) {
                let prefix = Self.text(header[345..<500])
                if !prefix.isEmpty { name = prefix + "/" + name }
            }
            if pax.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
                throw refuse("has the sparse entry \(QuotedText.of(name)), which partctl does not accept")
            }
            var entry = TarEntry(name: name, type: type, size: size,
                                 mode: UInt32(truncatingIfNeeded: try number(header[100..<108], "mode")),
                                 uid: try id(header[108..<116], "uid"), gid: try id(header[116..<124], "gid"),
                                 mtime: Int64(truncatingIfNeeded: try number(header[136..<148], "mtime")),
                                 link: pax["linkpath"] ?? longLink ?? Self.text(header[157..<257]))
            if let text = pax["size"] {
                guard let value = UInt64(text) else { throw refuse("has a pax size that is not a number (corrupt)") }
                entry.size = value
            }
            for (key, field) in [("uid", \TarEntry.uid), ("gid", \TarEntry.gid)] {
                if let text = pax[key] {
                    guard let value = UInt32(text) else { throw refuse("has a pax \(key) that is not a number (corrupt)") }
                    entry[keyPath: field] = value
                }
            }
            // Links, devices, directories and FIFOs carry no data, whatever their size field says.
            let headerOnly = [UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "4"),
                              UInt8(ascii: "5"), UInt8(ascii: "6")].contains(type)
            if headerOnly { entry.size = 0 }
            left = entry.size
            padding = (512 - entry.size % 512) % 512
            return entry
        }
    }

    /// Up to `count` bytes of the current entry's data; empty at its end.
    mutating func read(upTo count: Int) throws(PartitionError) -> [UInt8] {
        let wanted = Int(min(UInt64(count), left))
        guard wanted > 0 else { return [] }
        guard let bytes = try source.readSome(wanted) else { throw refuse("ends inside an entry (truncated)") }
        left -= UInt64(bytes.count)
        return bytes
    }

    /// Hands the current entry's data to `body` chunk by chunk.
    mutating func forEachChunk(_ body: ([UInt8]) throws(PartitionError) -> Void) throws(PartitionError) {
        while left > 0 { try body(try read(upTo: 1 << 20)) }
    }

    /// Skips what is left of the current entry's data and its padding.
    mutating func skipData() throws(PartitionError) {
        let total = left + padding
        guard total > 0 else { return }
        guard try source.skip(total) else { throw refuse("ends inside an entry (truncated)") }
        left = 0
        padding = 0
    }

    /// After the first zero block: a second one, then nothing but zeros (GNU tar pads to a record).
    private mutating func checkEnd() throws(PartitionError) {
        guard let second = try source.read(512), second.allSatisfy({ $0 == 0 }) else {
            throw refuse("has a damaged end-of-archive marker (corrupt)")
        }
        while let bytes = try source.readSome(1 << 16) {
            if bytes.contains(where: { $0 != 0 }) { throw refuse("has data after its end-of-archive marker (corrupt or altered)") }
        }
    }

    // MARK: Header fields

    private mutating func extended(_ size: UInt64) throws(PartitionError) -> [UInt8] {
        guard size <= 1 << 16 else { throw refuse("has an extended tar header of \(size) bytes, more than partctl reads") }
        let padded = Int(size + (512 - size % 512) % 512)
        guard let bytes = try source.read(padded) else { throw refuse("ends inside a tar header (truncated)") }
        return Array(bytes.prefix(Int(size)))
    }

    private func checkSum(_ header: [UInt8]) throws(PartitionError) {
        let stored = try number(header[148..<156], "checksum")
        var unsigned: UInt64 = 0
        var signed: Int64 = 0
        for (index, byte) in header.enumerated() {
            let value = (148..<156).contains(index) ? UInt8(ascii: " ") : byte
            unsigned += UInt64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        guard stored == unsigned || Int64(bitPattern: stored) == signed else {
            throw refuse("has a tar header whose checksum does not match (corrupt)")
        }
    }

    private func id(_ field: ArraySlice<UInt8>, _ name: String) throws(PartitionError) -> UInt32 {
        let value = try number(field, name)
        guard value <= UInt64(UInt32.max) else { throw refuse("has a tar header with an oversized \(name) (corrupt)") }
        return UInt32(value)
    }

    /// An octal field, or GNU's base-256 form (high bit set) for large values.
    private func number(_ field: ArraySlice<UInt8>, _ name: String) throws(PartitionError) -> UInt64 {
        guard let first = field.first else { return 0 }
        if first & 0x80 != 0 {
            guard first == 0x80 else { throw refuse("has a tar header with a negative \(name) (corrupt)") }
            var value: UInt64 = 0
            for byte in field.dropFirst() {
                guard value >> 56 == 0 else { throw refuse("has a tar header with an oversized \(name) (corrupt)") }
                value = value << 8 | UInt64(byte)
            }
            return value
        }
        var value: UInt64 = 0
        var seenDigit = false
        var ended = false
        for byte in field {
            if byte == 0 || (byte == UInt8(ascii: " ") && seenDigit) { ended = true; continue }
            if ended {
                guard byte == 0 || byte == UInt8(ascii: " ") else { throw refuse("has a tar header whose \(name) is not a number (corrupt)") }
                continue
            }
            if byte == UInt8(ascii: " ") { continue }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte), value >> 60 == 0 else {
                throw refuse("has a tar header whose \(name) is not a number (corrupt)")
            }
            value = value << 3 | UInt64(byte - UInt8(ascii: "0"))
            seenDigit = true
        }
        return value
    }

    /// pax records: "<length> <key>=<value>\n".
    private func parsePax(_ bytes: [UInt8]) throws(PartitionError) -> [String: String] {
        var records: [String: String] = [:]
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(Self.text(rest[rest.startIndex..<space])), length > space - rest.startIndex + 1,
                  length <= rest.count else {
                throw refuse("has a malformed pax header (corrupt)")
            }
            let record = rest[(space + 1)..<(rest.startIndex + length - 1)]
            guard rest[rest.startIndex + length - 1] == UInt8(ascii: "\n"), let equals = record.firstIndex(of: UInt8(ascii: "=")) else {
                throw refuse("has a malformed pax header (corrupt)")
            }
            records[String(decoding: record[record.startIndex..<equals], as: UTF8.self)] =
                String(decoding: record[(equals + 1)...], as: UTF8.self)
            rest = rest[(rest.startIndex + length)...]
        }
        return records
    }

    /// A NUL-terminated header field.
    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// A descriptor read in blocks.
struct ByteSource {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private var ended = false

    init(fd: Int32) { self.fd = fd }

    /// Exactly `count` bytes, nil when the stream ends first.
    mutating func read(_ count: Int) throws(PartitionError) -> [UInt8]? {
        try fill(count)
        guard buffer.count - position >= count else { return nil }
        defer { position += count }
        return Array(buffer[position..<(position + count)])
    }

    /// Between 1 and `count` bytes, nil at the end of the stream.
    mutating func readSome(_ count: Int) throws(PartitionError) -> [UInt8]? {
        try fill(1)
        guard buffer.count > position else { return nil }
        let take = min(count, buffer.count - position)
        defer { position += take }
        return Array(buffer[position..<(position + take)])
    }

    /// false when the stream ends first.
    mutating func skip(_ count: UInt64) throws(PartitionError) -> Bool {
        var left = count
        while left > 0 {
            if position == buffer.count {
                try fill(1)
                if position == buffer.count { return false }
            }
            let take = Int(min(UInt64(buffer.count - position), left))
            position += take
            left -= UInt64(take)
        }
        return true
    }

    private mutating func fill(_ count: Int) throws(PartitionError) {
        if position > 0 && (position == buffer.count || position > 1 << 20) {
            buffer.removeFirst(position)
            position = 0
        }
        let chunk = 1 << 20
        while buffer.count - position < count && !ended {
            let got = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { space -> Int in
                let n = POSIX.retryingInterrupts { Glibc.read(fd, space.baseAddress, chunk) }
                if n > 0 { buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(space)[..<n])) }
                return n
            }
            if got < 0 { throw POSIX.failure("read the archive") }
            if got == 0 { ended = true }
        }
    }
}
