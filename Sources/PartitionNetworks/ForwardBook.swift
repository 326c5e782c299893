#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Glibc
import PartitionModel
import SystemKit

/// `$PARTCTL_ROOT/networks/forwards.json`: every forward, partctl's authority for the forward_*
/// chains. Changed only under the flock of `networks/.forwards.lock`, replaced whole (AtomicFile),
/// so a command killed at any moment leaves the old list or the new one; the chains follow the file
/// at the next forward command (ForwardTable re-renders them from it every time).
public struct ForwardBook: Sendable {
    /// `$PARTCTL_ROOT/networks`.
    public let root: String

    public init(root: String) { self.root = root }

    public var file: String { root + "/forwards.json" }
    var lockFile: String { root + "/.forwards.lock" }

    /// Whether forwards.json exists (without it there are no forwards and nothing to render).
    public var exists: Bool {
        var info = stat()
        return stat(file, &info) == 0
    }

    /// Runs `body` with the lock held and the directory made (0711: dnsmasq, as nobody, reads below it).
    public func locked<T>(_ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        try Self.ensureDirectory(root)
        let lock = try PartitionLock.acquire(path: lockFile, wait: true, timeout: 30)
        defer { withExtendedLifetime(lock) {} }
        AtomicFile.removeTemporaries(in: root)
        return try body()
    }

    /// The forwards, in the order of the file; none when the file does not exist.
    public func load() throws(PartitionError) -> [Forward] {
        guard let bytes = try AtomicFile.read(file, limit: 4 << 20) else { return [] }
        do {
            return try JSONDecoder().decode([Forward].self, from: Data(bytes))
        } catch {
            throw PartitionError(.invalidState, "The forwards file \(file) cannot be read (\(error)); fix or remove it.")
        }
    }

    /// Replaces the file (call with the lock held). Kept sorted by host port and protocol.
    public func save(_ forwards: [Forward]) throws(PartitionError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(Self.sorted(forwards)) } catch {
            throw PartitionError(.internal, "The forwards cannot be encoded: \(error).")
        }
        try AtomicFile.write(Array(data), to: file, mode: 0o600)
    }

    public static func sorted(_ forwards: [Forward]) -> [Forward] {
        forwards.sorted { ($0.hostPort, $0.proto) < ($1.hostPort, $1.proto) }
    }

    /// Makes `path` (and a missing parent, 0755) and refuses a symbolic link in its place.
    static func ensureDirectory(_ path: String) throws(PartitionError) {
        if mkdir(path, 0o711) != 0 && errno == ENOENT, let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            let parent = String(path[..<slash])
            if mkdir(parent, 0o755) != 0 && errno != EEXIST { throw POSIX.failure("create the directory \(parent)") }
            if mkdir(path, 0o711) != 0 && errno != EEXIST { throw POSIX.failure("create the directory \(path)") }
        }
        let fd = POSIX.retryingInterrupts { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        guard fd >= 0 else {
            if errno == ENOTDIR || errno == ELOOP { throw PartitionError(.invalidState, "\(path) exists but is not a directory.") }
            throw POSIX.failure("open the directory \(path)")
        }
        close(fd)
    }
}
