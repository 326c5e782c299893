import Glibc
import PartitionModel
import SystemKit

/// SHA-256 digests of large files by Debian's sha256sum (several hundred MB/s whatever partctl's
/// build), for the image builder's cache key and its cached packages tar.
enum Sha256Sum {
    /// The SHA-256 of a file in hex, by sha256sum (several hundred MB/s whatever partctl's build).
    static func sha256(of path: String) throws(PartitionError) -> String {
        let output = try HostProgram(["/usr/bin/sha256sum", "--", path]).output(limit: 4096)
        guard let hex = output.split(separator: " ").first, hex.count == 64 else {
            throw PartitionError(.system, "sha256sum printed no digest for \(path).")
        }
        return String(hex)
    }

    /// The SHA-256 of bytes, in hex (for the cache key, a few KiB).
    static func sha256(of text: String, scratch: String) throws(PartitionError) -> String {
        try AtomicFile.write(Array(text.utf8), to: scratch, mode: 0o600, durable: false)
        defer { unlink(scratch) }
        return try sha256(of: scratch)
    }
}
