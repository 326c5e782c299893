#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import PartitionModel
import WorkloadEngine

/// One agent channel taken by this command: its index, and the local lock that keeps other
/// partctl commands off it while this one talks to the agent. The lock goes with the process, so a
/// killed command frees its channel.
final class AgentChannelClaim: Sendable {
    let index: Int
    /// A lock file under the runtime root, -1 when none could be made (not root, remote host).
    private let descriptor: Int32

    init(index: Int, descriptor: Int32) {
        self.index = index
        self.descriptor = descriptor
    }

    deinit { if descriptor >= 0 { close(descriptor) } }
}

/// The pool of agent channels of an LPAR (`org.partctl.agent.0` to `.3`): libvirt lets one client
/// hold a virtio-serial channel at a time (`virDomainOpenChannel` without FORCE fails while one
/// does, with FORCE it steals the channel and the holder's stream fails with "stream had I/O
/// failure"), and QEMU serves one connection per channel socket. So each command takes a channel
/// nobody holds, and when all are held, it says on stderr what it waits for.
///
/// Who holds what: a lock file per channel (`<runtime root>/agent-channels/<lpar>.<index>`) holds
/// what the command does ("console of lp1/web") for the line a waiting command prints; the kernel's
/// table of Unix sockets tells whether any other client (virsh, an older partctl) is connected.
enum AgentChannelPool {
    /// How often a waiting command looks again.
    static let retryMicroseconds: UInt32 = 50_000

    static let directoryName = "agent-channels"
    static func lockDirectory(_ configuration: PartctlConfiguration) -> String { configuration.runtimeRoot + "/" + directoryName }

    /// Removes the lock files of a removed LPAR's channels.
    static func forget(_ lpar: String, configuration: PartctlConfiguration) {
        for index in 0..<AgentWire.channelCount { unlink("\(lockDirectory(configuration))/\(lpar).\(index)") }
    }

    /// The channel `index` of `lpar` for this command, or nil when another partctl command holds it.
    static func claim(_ index: Int, of lpar: String, purpose: String, configuration: PartctlConfiguration) -> AgentChannelClaim? {
        let directory = lockDirectory(configuration)
        var descriptor = open("\(directory)/\(lpar).\(index)", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if descriptor < 0 && errno == ENOENT, (try? StateDirectory.ensureRuntime(directoryName, below: configuration.runtimeRoot)) != nil {
            descriptor = open("\(directory)/\(lpar).\(index)", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        // Without a lock file (an unprivileged user, a read-only /run) the socket table and
        // libvirt's refusal still keep commands apart.
        guard descriptor >= 0 else { return AgentChannelClaim(index: index, descriptor: -1) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            return nil
        }
        let text = Array(purpose.utf8.prefix(200))
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return AgentChannelClaim(index: index, descriptor: descriptor)
    }

    /// What the command holding channel `index` does, when a partctl command holds it.
    static func holder(_ index: Int, of lpar: String, configuration: PartctlConfiguration) -> String? {
        let descriptor = open("\(lockDirectory(configuration))/\(lpar).\(index)", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_SH | LOCK_NB) != 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 200)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self).filter { !$0.isNewline && $0 != "\u{1B}" }
    }

    /// Takes the first free channel of `indices` and opens it with `open` (nil: it turned out
    /// held), waiting for one until `deadline`. The first time all are held, one line on stderr
    /// says what the command waits for.
    static func take<Channel>(_ indices: [Int], of lpar: String, purpose: String, configuration: PartctlConfiguration,
                              until deadline: ContinuousClock.Instant, notice: (String) -> Void = { _ in },
                              open: (Int) throws(PartitionError) -> Channel?) throws(PartitionError) -> (Channel, AgentChannelClaim) {
        var told = false
        while true {
            for index in indices {
                guard let claim = claim(index, of: lpar, purpose: purpose, configuration: configuration) else { continue }
                if let channel = try open(index) { return (channel, claim) }
            }
            let busy = busyLine(indices, of: lpar, configuration: configuration)
            guard ContinuousClock.now < deadline else {
                throw PartitionError(.busy, "\(busy); try again when one is free.", partition: lpar)
            }
            if !told {
                notice("\(busy); waiting…")
                told = true
            }
            usleep(retryMicroseconds)
        }
    }

    /// "lp1: the agent channel is busy (console of lp1/web)", naming what holds each channel.
    static func busyLine(_ indices: [Int], of lpar: String, configuration: PartctlConfiguration) -> String {
        let holders = indices.map { holder($0, of: lpar, configuration: configuration) ?? "another client" }
        if indices.count == 1 {
            return "\(lpar): the agent channel is busy (\(holders[0])); \(lpar) has one agent channel, as LPARs defined before partctl had a pool of \(AgentWire.channelCount)"
        }
        return "\(lpar): all \(indices.count) agent channels are busy (\(holders.joined(separator: ", ")))"
    }
}
