#if canImport(Glibc)
import Glibc
#endif
import AgentProtocol
import PartitionModel

/// The agent channel of a running LPAR reached directly through the Unix socket QEMU listens on,
/// for a local `qemu:///system` connection run as root. libvirt's `virDomainOpenChannel` ends at the
/// same socket (libvirtd connects to it on the caller's behalf); going there directly spares a
/// command the loading of libvirt's libraries (~10 ms), the daemon connection and the domain
/// lookup, which are most of a nested `login` or `query` on the host's side.
///
/// This is an optimisation with a fallback, never the only way: nil from `channels` means "use
/// libvirt" (remote connection, another driver, no such socket, a name libvirt shortens). Which
/// channel of the pool a command takes is `AgentChannelPool`'s choice. The socket's place is libvirt's convention,
/// `<channel dir>/domain-<id>-<name>/<channel name>`; should it change, commands take the libvirt
/// path and only lose speed.
final class AgentChannelSocket: Sendable {
    static let channelDirectory = "/var/lib/libvirt/qemu/channel/target"
    /// libvirt shortens longer names in the directory name, which could then match another LPAR.
    static let longestExactName = 20

    let descriptor: Int32

    private init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { close(descriptor) }

    /// The sockets of the running LPAR's agent channels by index, when the direct path applies;
    /// nil when libvirt must be asked. Only the LPAR's current run counts: a directory left by an
    /// earlier run has sockets nobody listens on.
    static func channels(lpar: String, configuration: PartctlConfiguration) -> [Int: String]? {
        guard configuration.connectURI == "qemu:///system", geteuid() == 0, lpar.utf8.count <= longestExactName,
              let directory = opendir(channelDirectory) else { return nil }
        var candidates: [String] = []
        while let entry = readdir(directory) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard entryName.hasPrefix("domain-"), entryName.hasSuffix("-" + lpar) else { continue }
            let id = entryName.dropFirst("domain-".count).dropLast(lpar.utf8.count + 1)
            guard !id.isEmpty, id.allSatisfy(\.isNumber) else { continue }
            candidates.append("\(channelDirectory)/\(entryName)")
        }
        closedir(directory)
        guard !candidates.isEmpty else { return nil }
        let table = SocketTable.read(under: channelDirectory)
        for candidate in candidates {
            var paths: [Int: String] = [:]
            for index in 0..<AgentWire.channelCount {
                let path = "\(candidate)/\(AgentWire.channelName(index))"
                if table.listening.contains(path) { paths[index] = path }
            }
            if paths[0] != nil { return paths }
        }
        return nil
    }

    /// Connects to the channel socket at `path` unless another client holds it now (QEMU serves
    /// one at a time, and a second connection would wait unseen, its requests acted on after this
    /// command gave up); nil when it is held or refuses.
    static func open(_ path: String) -> AgentChannelSocket? {
        if isHeld(path) { return nil }
        return connect(path)
    }

    /// Whether another client is connected to the socket now.
    static func isHeld(_ path: String) -> Bool {
        SocketTable.read(under: path).connected.contains(path)
    }

    /// The kernel's table of Unix sockets (/proc/net/unix), for the paths under one directory:
    /// listening sockets (state 01, flag __SO_ACCEPTCON) and accepted connections, which carry the
    /// listener's path (state 03).
    struct SocketTable {
        var listening: Set<String> = []
        var connected: Set<String> = []

        static func read(under prefix: String) -> SocketTable {
            var table = SocketTable()
            // Unreadable: everything counts as held, and libvirt is asked instead.
            guard let text = try? LocalFile.read("/proc/net/unix", limit: 4 << 20) else {
                table.connected.insert(prefix)
                return table
            }
            let marker = " " + prefix
            for line in text.split(separator: "\n") where line.contains(marker) {
                let columns = line.split(separator: " ", omittingEmptySubsequences: true)
                guard columns.count >= 8 else { continue }
                let path = String(columns[7])
                if columns[5] == "03" { table.connected.insert(path) }
                if columns[5] == "01" && columns[3] == "00010000" { table.listening.insert(path) }
            }
            return table
        }
    }

    private static func connect(_ path: String) -> AgentChannelSocket? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        return AgentChannelSocket(descriptor: descriptor)
    }

    // MARK: The transport of an AgentConversation

    func send(_ bytes: [UInt8], timeout: Duration) throws(PartitionError) {
        let deadline = ContinuousClock.now + timeout
        var offset = 0
        while offset < bytes.count {
            try waitFor(Int16(POLLOUT), until: deadline, timeout: timeout)
            let count = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                throw PartitionError(.unavailable, "The agent's channel broke off: \(String(cString: strerror(errno))).")
            }
            offset += count
        }
    }

    /// Up to `max` bytes; empty when QEMU closed the socket (the LPAR stopped).
    func receive(max: Int, timeout: Duration) throws(PartitionError) -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        while true {
            try waitFor(Int16(POLLIN), until: deadline, timeout: timeout)
            var count = 0
            let bytes = [UInt8](unsafeUninitializedCapacity: max) { buffer, initialized in
                count = Glibc.read(descriptor, buffer.baseAddress, max)
                initialized = Swift.max(count, 0)
            }
            if count >= 0 { return bytes }
            if errno == EINTR || errno == EAGAIN { continue }
            if errno == ECONNRESET { return [] }
            throw PartitionError(.unavailable, "The agent's channel broke off: \(String(cString: strerror(errno))).")
        }
    }

    private func waitFor(_ events: Int16, until deadline: ContinuousClock.Instant, timeout: Duration) throws(PartitionError) {
        while true {
            let left = deadline - .now
            guard left > .zero else {
                throw PartitionError(.timeout, events == Int16(POLLIN) ? "No data arrived on the agent's channel within \(timeout)."
                                                                       : "The agent's channel took no data for \(timeout).")
            }
            let (seconds, attoseconds) = left.components
            let milliseconds = Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000 + 1)
            var request = pollfd(fd: descriptor, events: events, revents: 0)
            let ready = poll(&request, 1, milliseconds)
            if ready > 0 { return }
            if ready < 0 && errno != EINTR {
                throw PartitionError(.system, "Cannot wait on the agent's channel: \(String(cString: strerror(errno))).")
            }
        }
    }

    /// Ends the connection at once; the agent sees its host go.
    func shutdownBoth() {
        _ = Glibc.shutdown(descriptor, Int32(SHUT_RDWR))
    }
}
