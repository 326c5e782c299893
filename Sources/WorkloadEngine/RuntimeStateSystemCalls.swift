import Glibc
import PartitionModel
import SystemPackage
import SystemKit

// System-call helpers shared by the engine's state, cgroup and network code. Plain open/read/write/close
// on purpose: cgroup and /proc files are small pseudo-files on the hot path of every activation.

enum SystemCall {
    /// Calls `body` again for as long as it fails with EINTR.
    @inline(__always)
    static func retryingInterrupts<R: FixedWidthInteger>(_ body: () -> R) -> R {
        POSIX.retryingInterrupts(body)
    }

    /// The error for a failed step: "Could not <step>: <cause> (errno N)." (SystemKit's one mapping).
    static func failure(_ step: String, errno code: Int32 = errno) -> PartitionError {
        POSIX.failure(step, errno: code)
    }

    /// Reads a whole (small) file. Fails with EFBIG when it is larger than `limit` bytes.
    static func readFile(_ path: String, limit: Int) -> Result<[UInt8], Errno> {
        FileIO.readFile(path, limit: limit).mapError { Errno(rawValue: $0.rawValue) }
    }

    /// Reads what is left of an open file, as `readFile`.
    static func readAll(_ fd: Int32, limit: Int) -> Result<[UInt8], Errno> {
        FileIO.readAll(fd, limit: limit).mapError { Errno(rawValue: $0.rawValue) }
    }

    /// Reads a small text file, nil when it cannot be read.
    static func readText(_ path: String, limit: Int = 1 << 16) -> String? {
        FileIO.readText(path, limit: limit)
    }

    /// Writes `text` to an existing file in one write(2), as cgroup and /proc files require.
    static func writeText(_ text: String, to path: String) -> Errno? {
        let fd = retryingInterrupts { open(path, O_WRONLY | O_TRUNC | O_CLOEXEC) }
        if fd < 0 { return Errno(rawValue: errno) }
        defer { close(fd) }
        var text = text
        let written = text.withUTF8 { bytes in retryingInterrupts { write(fd, bytes.baseAddress, bytes.count) } }
        if written < 0 { return Errno(rawValue: errno) }
        return nil
    }

    /// The names of the subdirectories of `path` (no `.`/`..`); empty when it cannot be read.
    static func subdirectories(of path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            guard entry.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    static func sleep(seconds: Double) { POSIX.sleep(seconds: seconds) }

    static func monotonicSeconds() -> Double { POSIX.monotonicSeconds() }

    /// A libc function that Swift's Glibc module does not import (it needs _GNU_SOURCE or a newer
    /// header), looked up once in the already loaded C library; nil when this libc lacks it.
    static func libcFunction(_ name: String) -> UnsafeMutableRawPointer? {
        dlsym(dlopen(nil, RTLD_NOW), name)
    }
}
