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
        var stream: TarBlockStream
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
            stream = Self.layerStream(started.output)
        } else {
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw POSIX.failure("open \(label)") }
            stream = Self.layerStream(fd)
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

    /// A layer's uncompressed stream, hashed for its diff_id.
    private static func layerStream(_ fd: Int32) -> TarBlockStream {
        TarBlockStream(fd: fd, chunk: 1 << 16, hashing: true, what: "read a layer")
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

    /// Header fields as Go's archive/tar reads them: whatever follows a number's digits is ignored.
    private var fields: TarFields { TarFields(strictNumbers: false, refuse: refuse) }

    private func walk(_ stream: inout TarBlockStream) throws(PartitionError) {
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        let fields = fields
        while true {
            guard let header = try stream.read(512) else {
                throw refuse("ends before its end-of-archive marker (truncated)")
            }
            if header.allSatisfy({ $0 == 0 }) { return }
            try fields.checkSum(header)
            let type = header[156]
            var size = try fields.number(header[124..<136], "size")
            if let paxSize = pax["size"] {
                guard let value = UInt64(paxSize) else { throw refuse("has a pax size that is not a number") }
                size = value
            }
            switch type {
            case UInt8(ascii: "x"):
                pax = try fields.parsePax(try fields.extended(&stream, size, limit: 1 << 20))
                continue
            case UInt8(ascii: "g"):
                _ = try fields.extended(&stream, size, limit: 1 << 20)
                continue
            case UInt8(ascii: "L"):
                longName = TarFields.text(try fields.extended(&stream, size, limit: 1 << 16)[...])
                continue
            case UInt8(ascii: "K"):
                longLink = TarFields.text(try fields.extended(&stream, size, limit: 1 << 16)[...])
                continue
            default:
                break
            }
            let name = TarFields.name(header, pax: pax, longName: longName)
            let link = TarFields.link(header, pax: pax, longLink: longLink)
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
}
