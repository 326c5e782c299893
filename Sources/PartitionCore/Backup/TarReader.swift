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
    private var source: TarBlockStream
    private let fields: TarFields
    /// Bytes of the current entry's data not read yet, and the padding after them.
    private var left: UInt64 = 0
    private var padding: UInt64 = 0

    init(fd: Int32, label: String) {
        self.label = label
        source = TarBlockStream(fd: fd, chunk: 1 << 20, hashing: false, what: "read the archive")
        fields = TarFields(strictNumbers: true) { [label] what in PartitionError(.invalidArgument, "\(label): \(what).") }
    }

    func refuse(_ what: String) -> PartitionError {
        fields.refuse(what)
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
            try fields.checkSum(header)
            let type = header[156]
            let size = try fields.number(header[124..<136], "size")
            switch type {
            case UInt8(ascii: "x"):
                for (key, value) in try fields.parsePax(try extended(size)) { pax[key] = value }
                continue
            case UInt8(ascii: "g"):
                _ = try extended(size)
                continue
            case UInt8(ascii: "L"):
                longName = TarFields.text(try extended(size)[...])
                continue
            case UInt8(ascii: "K"):
                longLink = TarFields.text(try extended(size)[...])
                continue
            default:
                break
            }
            let name = TarFields.name(header, pax: pax, longName: longName)
            if pax.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
                throw refuse("has the sparse entry \(QuotedText.of(name)), which partctl does not accept")
            }
            var entry = TarEntry(name: name, type: type, size: size,
                                 mode: UInt32(truncatingIfNeeded: try fields.number(header[100..<108], "mode")),
                                 uid: try id(header[108..<116], "uid"), gid: try id(header[116..<124], "gid"),
                                 mtime: Int64(truncatingIfNeeded: try fields.number(header[136..<148], "mtime")),
                                 link: TarFields.link(header, pax: pax, longLink: longLink))
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

    /// An extended header's data, up to 64 KiB.
    private mutating func extended(_ size: UInt64) throws(PartitionError) -> [UInt8] {
        try fields.extended(&source, size, limit: 1 << 16)
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

    private func id(_ field: ArraySlice<UInt8>, _ name: String) throws(PartitionError) -> UInt32 {
        let value = try fields.number(field, name)
        guard value <= UInt64(UInt32.max) else { throw refuse("has a tar header with an oversized \(name) (corrupt)") }
        return UInt32(value)
    }
}
