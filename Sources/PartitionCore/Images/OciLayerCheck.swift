import Glibc
import PartitionImages
import PartitionModel
import SystemKit

/// Reads one layer's tar stream header by header, before umoci unpacks anything, and refuses the
/// layer at its first entry that is not plain content of a root file system: a name that is
/// absolute or has a `..` component, a hard link or symlink whose target climbs out of the root
/// (lexically), a whiteout of `.` or `..`, a device node, an entry type partctl does not know, a
/// corrupt header or a stream that ends before the end-of-archive marker. It also checks the
/// uncompressed stream's digest against the image config's diff_id. Nothing is extracted:
/// umoci does layers, whiteouts and ownership.
///
/// Device nodes are refused (umoci as root and podman create them; runc does not care): WPAR
/// roots are mounted nodev, so inside they would be inert, and on the host they would be device
/// inodes in the store that nothing needs (and a copy of the store without nodev would make
/// live).
struct OciLayerCheck {
    /// "layer 2 (sha256:0123456789ab)", for messages.
    let label: String

    /// Checks the blob at `path` (tar, gzip or zstd, told by its first bytes) against `diffID`.
    func check(blob path: String, diffID: String?) throws(PartitionError) {
        let magic = try Self.firstBytes(path, 4)
        let decompressor: [String]?
        if magic.starts(with: [0x1f, 0x8b]) {
            decompressor = ["gzip", "-dc", "--", path]
        } else if magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) {
            decompressor = ["zstd", "-dcq", "--", path]
        } else {
            decompressor = nil
        }
        var stream: OciByteStream
        var pid: pid_t?
        var errorPipe: (read: Int32, write: Int32) = (-1, -1)
        if let decompressor {
            errorPipe = try HostProgram.pipe()
            let started: (pid: pid_t, output: Int32)
            do throws(PartitionError) {
                started = try HostProgram(decompressor).start(stderr: errorPipe.write)
            } catch {
                close(errorPipe.read); close(errorPipe.write)
                throw error
            }
            close(errorPipe.write)
            pid = started.pid
            stream = OciByteStream(fd: started.output)
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw POSIX.failure("open \(label)") }
            stream = OciByteStream(fd: fd)
        }
        var failure: PartitionError?
        do throws(PartitionError) {
            try walk(&stream)
            try stream.drain()
        } catch {
            failure = error
        }
        close(stream.fd)
        if let pid {
            let status = HostProgram.wait(pid)
            let said = (try? FileIO.readAll(errorPipe.read, limit: 4096, truncating: true).get()) ?? []
            close(errorPipe.read)
            // gzip exits 2 for warnings only (trailing garbage after the stream).
            let ok = status == 0 || (decompressor?[0] == "gzip" && status == 2)
            if !ok {
                let text = String(decoding: said, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? "exit status \(status)"
                throw PartitionError(.invalidArgument, "The image's \(label) is corrupt or truncated: \(text).")
            }
        }
        if let failure { throw failure }
        if let diffID, stream.digest() != diffID {
            throw PartitionError(.invalidArgument,
                "The image's \(label) does not match its diff_id in the image config (\(diffID)): the layer is corrupt or was altered.")
        }
    }

    private static func firstBytes(_ path: String, _ count: Int) throws(PartitionError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw POSIX.failure("open \(path)") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, count) }
        return Array(bytes.prefix(max(got, 0)))
    }

    // MARK: The tar stream

    private func refuse(_ what: String) -> PartitionError {
        PartitionError(.invalidArgument, "The image's \(label) \(what); partctl refuses the image.")
    }

    private func walk(_ stream: inout OciByteStream) throws(PartitionError) {
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        while true {
            guard let header = try stream.read(512) else {
                throw refuse("ends before its end-of-archive marker (truncated)")
            }
            if header.allSatisfy({ $0 == 0 }) { return }
            try checkSum(header)
            let type = header[156]
            var size = try number(header[124..<136], field: "size")
            if let paxSize = pax["size"] {
                guard let value = UInt64(paxSize) else { throw refuse("has a pax size that is not a number") }
                size = value
            }
            switch type {
            case UInt8(ascii: "x"):
                pax = try parsePax(try data(&stream, size, limit: 1 << 20))
                continue
            case UInt8(ascii: "g"):
                _ = try data(&stream, size, limit: 1 << 20)
                continue
            case UInt8(ascii: "L"):
                longName = text(try data(&stream, size, limit: 1 << 16)[...])
                continue
            case UInt8(ascii: "K"):
                longLink = text(try data(&stream, size, limit: 1 << 16)[...])
                continue
            default:
                break
            }
            var name = pax["path"] ?? longName ?? text(header[0..<100])
            let ustar = header[257..<263].elementsEqual(Array("ustar\0".utf8))
            if pax["path"] == nil && longName == nil && ustar {
                let prefix = text(header[345..<500])
                if !prefix.isEmpty { name = prefix + "/" + name }
            }
            let link = pax["linkpath"] ?? longLink ?? text(header[157..<257])
            if pax.keys.contains(where: { $0.hasPrefix("GNU.sparse.") }) {
                throw refuse("has the sparse file \(QuotedText.of(name)), an entry type partctl does not accept")
            }
            try checkEntry(type: type, name: name, link: link)
            longName = nil
            longLink = nil
            pax = [:]
            // As Go's archive/tar (which umoci uses): links, devices, directories and FIFOs carry no data.
            let headerOnly = [UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "5"), UInt8(ascii: "6")].contains(type)
            if !headerOnly, !(try stream.skip(size + (512 - size % 512) % 512)) {
                throw refuse("ends inside the entry \(QuotedText.of(name)) (truncated)")
            }
        }
    }

    private func checkEntry(type: UInt8, name: String, link: String) throws(PartitionError) {
        let shown = QuotedText.of(name)
        guard !name.isEmpty else { throw refuse("has an entry without a name") }
        if name.hasPrefix("/") { throw refuse("has the absolute entry \(shown)") }
        let parts = name.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
        if parts.contains("..") { throw refuse("has the entry \(shown), whose '..' climbs out of the image's root") }
        if let last = parts.last, last.hasPrefix(".wh."), last != ".wh..wh..opq" {
            let removed = last.dropFirst(4)
            if removed.isEmpty || removed == "." || removed == ".." {
                throw refuse("has the whiteout \(shown), which would remove \(removed.isEmpty ? "nothing" : "'\(removed)'")")
            }
        }
        switch type {
        case UInt8(ascii: "0"), 0, UInt8(ascii: "7"), UInt8(ascii: "5"), UInt8(ascii: "6"):
            return
        case UInt8(ascii: "1"):
            let target = link.split(separator: "/", omittingEmptySubsequences: true).filter { $0 != "." }
            if link.hasPrefix("/") || target.contains("..") || target.isEmpty {
                throw refuse("has the hard link \(shown) to \(QuotedText.of(link)), outside the image's root")
            }
        case UInt8(ascii: "2"):
            guard !link.isEmpty else { throw refuse("has the symlink \(shown) with an empty target") }
            // Relative targets start in the link's directory, absolute ones at the image's root.
            var depth = link.hasPrefix("/") ? 0 : parts.count - 1
            for part in link.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
                depth += part == ".." ? -1 : 1
                if depth < 0 {
                    throw refuse("has the symlink \(shown) to \(QuotedText.of(link)), which climbs out of the image's root")
                }
            }
        case UInt8(ascii: "3"), UInt8(ascii: "4"):
            throw refuse("has the device node \(shown); partctl does not take device nodes from images (WPARs get their own /dev)")
        default:
            let shownType = type >= 0x20 && type < 0x7f ? "'\(Character(Unicode.Scalar(type)))'" : "\(type)"
            throw refuse("has the entry \(shown) of tar type \(shownType), which partctl does not accept")
        }
    }

    private func checkSum(_ header: [UInt8]) throws(PartitionError) {
        let stored = try number(header[148..<156], field: "checksum")
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
    private func number(_ field: ArraySlice<UInt8>, field name: String) throws(PartitionError) -> UInt64 {
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
        for byte in field {
            if byte == 0 || (byte == UInt8(ascii: " ") && seenDigit) { break }
            if byte == UInt8(ascii: " ") { continue }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte), value >> 60 == 0 else {
                throw refuse("has a tar header whose \(name) is not a number (corrupt)")
            }
            value = value << 3 | UInt64(byte - UInt8(ascii: "0"))
            seenDigit = true
        }
        return value
    }

    private func data(_ stream: inout OciByteStream, _ size: UInt64, limit: UInt64) throws(PartitionError) -> [UInt8] {
        guard size <= limit else { throw refuse("has an extended tar header of \(size) bytes, more than partctl reads") }
        let padded = Int(size + (512 - size % 512) % 512)
        guard let bytes = try stream.read(padded) else { throw refuse("ends inside a tar header (truncated)") }
        return Array(bytes.prefix(Int(size)))
    }

    /// pax records: "<length> <key>=<value>\n".
    private func parsePax(_ bytes: [UInt8]) throws(PartitionError) -> [String: String] {
        var records: [String: String] = [:]
        var rest = bytes[...]
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                  let length = Int(text(rest[rest.startIndex..<space])), length > space - rest.startIndex + 1,
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
    private func text(_ field: ArraySlice<UInt8>) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }
}

/// A descriptor read in blocks, with the SHA-256 of everything read (a layer's diff_id).
struct OciByteStream {
    let fd: Int32
    private var buffer: [UInt8] = []
    private var position = 0
    private var hash = SHA256()
    private var ended = false

    init(fd: Int32) { self.fd = fd }

    /// Exactly `count` bytes, nil when the stream ends first.
    mutating func read(_ count: Int) throws(PartitionError) -> [UInt8]? {
        try fill(count)
        guard buffer.count - position >= count else { return nil }
        defer { position += count }
        return Array(buffer[position..<(position + count)])
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

    /// Reads what is left (the padding after the end marker belongs to the diff_id).
    mutating func drain() throws(PartitionError) {
        while !ended {
            position = buffer.count
            try fill(1)
        }
    }

    mutating func digest() -> String { hash.finishDigest() }

    private mutating func fill(_ count: Int) throws(PartitionError) {
        if position > 0 && (position == buffer.count || position > 1 << 20) {
            buffer.removeFirst(position)
            position = 0
        }
        let chunk = 1 << 16
        while buffer.count - position < count && !ended {
            let got = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { space -> Int in
                let n = POSIX.retryingInterrupts { Glibc.read(fd, space.baseAddress, chunk) }
                if n > 0 {
                    let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(space)[..<n])
                    hash.update(bytes)
                    buffer.append(contentsOf: bytes)
                }
                return n
            }
            if got < 0 { throw POSIX.failure("read a layer") }
            if got == 0 { ended = true }
        }
    }
}
