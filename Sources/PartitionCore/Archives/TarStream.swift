import Glibc
import PartitionImages
import PartitionModel
import SystemKit

/// The parts of reading a tar stream that do not depend on who reads it: the header fields
/// (NUL-terminated text, octal or base-256 numbers, the checksum, the name and link with their
/// ustar prefix, pax and GNU long-name records) and the data of extended headers. Each reader
/// keeps its own policy (what it refuses, its limits) and words its own refusals: `refuse` turns
/// "has a tar header whose size is not a number (corrupt)" into that reader's message.
struct TarFields {
    /// true: a number field must hold only NULs and spaces after its digits end (backup archives);
    /// false: whatever follows the end of the digits is ignored (OCI layers, as Go's archive/tar).
    let strictNumbers: Bool
    let refuse: (String) -> PartitionError

    /// A NUL-terminated header field.
    static func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The entry's name: a pax path, a GNU long name, or the header's, with a ustar prefix.
    static func name(_ header: [UInt8], pax: [String: String], longName: String?) -> String {
        var name = pax["path"] ?? longName ?? text(header[0..<100])
        if pax["path"] == nil && longName == nil && header[257..<263].elementsEqual(Array("ustar\0".utf8)) {
            let prefix = text(header[345..<500])
            if !prefix.isEmpty { name = prefix + "/" + name }
        }
        return name
    }

    /// The entry's link target: a pax linkpath, a GNU long link, or the header's.
    static func link(_ header: [UInt8], pax: [String: String], longLink: String?) -> String {
        pax["linkpath"] ?? longLink ?? text(header[157..<257])
    }

    func checkSum(_ header: [UInt8]) throws(PartitionError) {
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

    /// An octal field, or GNU's base-256 form (high bit set) for large values.
    func number(_ field: ArraySlice<UInt8>, _ name: String) throws(PartitionError) -> UInt64 {
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
            if byte == 0 || (byte == UInt8(ascii: " ") && seenDigit) {
                if !strictNumbers { break }
                ended = true
                continue
            }
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

    /// An extended header's data (pax records, a GNU long name), `size` bytes and their padding.
    func extended(_ stream: inout TarBlockStream, _ size: UInt64, limit: UInt64) throws(PartitionError) -> [UInt8] {
        guard size <= limit else { throw refuse("has an extended tar header of \(size) bytes, more than partctl reads") }
        let padded = Int(size + (512 - size % 512) % 512)
        guard let bytes = try stream.read(padded) else { throw refuse("ends inside a tar header (truncated)") }
        return Array(bytes.prefix(Int(size)))
    }

    /// pax records: "<length> <key>=<value>\n".
    func parsePax(_ bytes: [UInt8]) throws(PartitionError) -> [String: String] {
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
}

/// A descriptor read in blocks of `chunk` bytes, optionally with the SHA-256 of everything read
/// (a layer's diff_id). A failed read is reported as "Could not <what>".
struct TarBlockStream {
    let fd: Int32
    private let chunk: Int
    private let what: String
    private var buffer: [UInt8] = []
    private var position = 0
    private var hash: SHA256?
    private var ended = false

    init(fd: Int32, chunk: Int, hashing: Bool, what: String) {
        self.fd = fd
        self.chunk = chunk
        self.what = what
        hash = hashing ? SHA256() : nil
    }

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

    /// Reads what is left (for a layer, the padding after the end marker belongs to the diff_id).
    mutating func drain() throws(PartitionError) {
        while !ended {
            position = buffer.count
            try fill(1)
        }
    }

    /// The SHA-256 of everything read, as "sha256:<hex>"; nil when not hashing.
    mutating func digest() -> String? { hash?.finishDigest() }

    private mutating func fill(_ count: Int) throws(PartitionError) {
        if position > 0 && (position == buffer.count || position > 1 << 20) {
            buffer.removeFirst(position)
            position = 0
        }
        let chunk = chunk
        while buffer.count - position < count && !ended {
            let got = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { space -> Int in
                let n = POSIX.retryingInterrupts { Glibc.read(fd, space.baseAddress, chunk) }
                if n > 0 {
                    let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(space)[..<n])
                    hash?.update(bytes)
                    buffer.append(contentsOf: bytes)
                }
                return n
            }
            if got < 0 { throw POSIX.failure(what) }
            if got == 0 { ended = true }
        }
    }
}
