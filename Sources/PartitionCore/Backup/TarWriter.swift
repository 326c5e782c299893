import Glibc
import PartitionImages
import PartitionModel
import SystemKit

/// Writes a POSIX (ustar + pax) tar stream to a descriptor, hashing every byte it writes, so that
/// `backup` can print the archive's own SHA-256 without reading it again. Only what partctl's
/// backups hold: regular files, directories, symbolic and hard links and FIFOs (in WPAR layers).
struct TarWriter {
    enum EntryType: UInt8 {
        case file = 0x30        // '0'
        case hardLink = 0x31    // '1'
        case symlink = 0x32     // '2'
        case directory = 0x35   // '5'
        case fifo = 0x36        // '6'
    }

    struct Entry {
        var name: String
        var type: EntryType
        var size: UInt64 = 0
        var mode: UInt32 = 0o600
        var uid: UInt32 = 0
        var gid: UInt32 = 0
        var mtime: Int64 = 0
        var link: String = ""
    }

    let fd: Int32
    private(set) var hash = SHA256()
    private(set) var written: UInt64 = 0

    init(fd: Int32) { self.fd = fd }

    /// The largest value an 11-digit octal field holds (8 GiB - 1); larger sizes go in a pax record.
    static let octalLimit: UInt64 = 0o77777777777

    mutating func header(_ entry: Entry) throws(PartitionError) {
        var records: [(String, String)] = []
        let nameBytes = Array(entry.name.utf8)
        var name = nameBytes
        var prefix: [UInt8] = []
        if nameBytes.count > 100 {
            // ustar's prefix/name split at a slash, else a pax path record.
            if let split = Self.split(nameBytes) { (prefix, name) = split } else {
                records.append(("path", entry.name))
                name = Array(nameBytes.prefix(100))
            }
        }
        if entry.link.utf8.count > 100 { records.append(("linkpath", entry.link)) }
        if entry.size > Self.octalLimit { records.append(("size", String(entry.size))) }
        if !records.isEmpty {
            var body: [UInt8] = []
            for (key, value) in records { body += Self.paxRecord(key, value) }
            var pax = Self.block(name: Array("PaxHeaders/entry".utf8), prefix: [], type: 0x78, size: UInt64(body.count),
                                 mode: 0o644, uid: 0, gid: 0, mtime: 0, link: [])
            Self.seal(&pax)
            try emit(pax)
            try emit(body)
            try pad(UInt64(body.count))
        }
        var block = Self.block(name: name, prefix: prefix, type: entry.type.rawValue,
                               size: entry.size > Self.octalLimit ? 0 : entry.size, mode: entry.mode,
                               uid: entry.uid, gid: entry.gid, mtime: max(0, entry.mtime), link: Array(entry.link.utf8.prefix(100)))
        Self.seal(&block)
        try emit(block)
    }

    /// A regular file's header and exactly `size` bytes read from `source`, padded to a block.
    mutating func file(_ entry: Entry, from source: Int32) throws(PartitionError) {
        try header(entry)
        var left = entry.size
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while left > 0 {
            let wanted = Int(min(UInt64(buffer.count), left))
            let count = buffer.withUnsafeMutableBytes { space in POSIX.retryingInterrupts { read(source, space.baseAddress, wanted) } }
            guard count > 0 else {
                throw count == 0 ? PartitionError(.system, "The file \(QuotedText.of(entry.name)) ended while it was being archived (it changed).")
                                 : POSIX.failure("read \(entry.name) for the archive")
            }
            let wrote = buffer.withUnsafeBytes { space in emitRaw(UnsafeRawBufferPointer(rebasing: space[..<count])) }
            guard wrote else { throw POSIX.failure("write the archive") }
            left -= UInt64(count)
        }
        try pad(entry.size)
    }

    /// A regular file whose content is in memory.
    mutating func file(_ entry: Entry, bytes: [UInt8]) throws(PartitionError) {
        var entry = entry
        entry.size = UInt64(bytes.count)
        try header(entry)
        try emit(bytes)
        try pad(entry.size)
    }

    /// The end-of-archive marker: two zero blocks.
    mutating func finish() throws(PartitionError) {
        try emit([UInt8](repeating: 0, count: 1024))
    }

    mutating func digest() -> String {
        var copy = hash
        return copy.finishHex()
    }

    // MARK: Bytes

    private mutating func pad(_ size: UInt64) throws(PartitionError) {
        let rest = Int((512 - size % 512) % 512)
        if rest > 0 { try emit([UInt8](repeating: 0, count: rest)) }
    }

    private mutating func emit(_ bytes: [UInt8]) throws(PartitionError) {
        guard bytes.withUnsafeBytes({ emitRaw($0) }) else { throw POSIX.failure("write the archive") }
    }

    /// false when the write failed (errno says why).
    private mutating func emitRaw(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard FileIO.writeAll(fd, bytes.baseAddress, bytes.count) else { return false }
        hash.update(bytes)
        written += UInt64(bytes.count)
        return true
    }

    // MARK: Headers

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var length = body.utf8.count + 1
        while String(length).utf8.count + body.utf8.count != length { length += 1 }
        return Array((String(length) + body).utf8)
    }

    /// A name of up to 255 bytes as ustar's (prefix, name), split at a slash; nil when it does not fit.
    static func split(_ name: [UInt8]) -> ([UInt8], [UInt8])? {
        guard name.count <= 256 else { return nil }
        for index in stride(from: min(name.count - 1, 155), to: 0, by: -1) where name[index] == UInt8(ascii: "/") {
            let rest = Array(name[(index + 1)...])
            if !rest.isEmpty && rest.count <= 100 { return (Array(name[..<index]), rest) }
        }
        return nil
    }

    static func block(name: [UInt8], prefix: [UInt8], type: UInt8, size: UInt64, mode: UInt32, uid: UInt32, gid: UInt32,
                      mtime: Int64, link: [UInt8]) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int, max: Int) {
            for (index, byte) in bytes.prefix(max).enumerated() { block[offset + index] = byte }
        }
        func octal(_ value: UInt64, at offset: Int, width: Int) {
            let digits = String(value, radix: 8)
            let padded = String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits
            put(Array(padded.utf8), at: offset, max: width - 1)
        }
        put(name, at: 0, max: 100)
        octal(UInt64(mode & 0o7777), at: 100, width: 8)
        octal(UInt64(uid), at: 108, width: 8)
        octal(UInt64(gid), at: 116, width: 8)
        octal(size, at: 124, width: 12)
        octal(UInt64(mtime) & 0o77777777777, at: 136, width: 12)
        block[156] = type
        put(link, at: 157, max: 100)
        put(Array("ustar\0".utf8), at: 257, max: 6)
        put(Array("00".utf8), at: 263, max: 2)
        put(prefix, at: 345, max: 155)
        return block
    }

    /// Fills in the header's checksum (the sum of its bytes with the field read as spaces).
    static func seal(_ block: inout [UInt8]) {
        for index in 148..<156 { block[index] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + UInt64($1) }
        let digits = Array(String(sum, radix: 8).utf8)
        let field = [UInt8](repeating: UInt8(ascii: "0"), count: 6 - digits.count) + digits + [0, UInt8(ascii: " ")]
        for (index, byte) in field.enumerated() { block[148 + index] = byte }
    }
}

extension SHA256 {
    /// The digest as 64 lowercase hex digits; the hasher is spent afterwards.
    mutating func finishHex() -> String { SHA256.hex(finish()) }
}
