import Glibc
import PartitionModel

/// A byte pipe to the host: one virtio-serial port, or one accepted socket connection.
struct AgentLink: Sendable {
    let descriptor: Int32
    /// A virtio port outlives host sessions: reading "nothing" there means no host is attached yet.
    let isPort: Bool
    /// On a port: readable when some host attached to some port (`HostAttachSignals`), since poll
    /// only reports POLLHUP on a port while no host is attached; -1 when the driver sends no
    /// signal, and the link falls back to looking again after a short sleep.
    var wake: Int32 = -1

    /// Waits for bytes and returns them; nil when a socket peer has gone. On a port, waits for the
    /// host to (re)attach instead, since the port stays.
    func read() -> [UInt8]? {
        while true {
            var pollRequest = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pollRequest, 1, 1000)
            if ready < 0 && errno == EINTR { continue }
            if ready == 0 { continue }
            let hungUp = pollRequest.revents & Int16(POLLHUP | POLLERR) != 0
            if pollRequest.revents & Int16(POLLIN) == 0 && hungUp {
                if !isPort { return nil }
                waitForHost()
                continue
            }
            var buffer = [UInt8](repeating: 0, count: 65_536)
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 { return Array(buffer[..<count]) }
            if count < 0 && (errno == EINTR || errno == EAGAIN) { continue }
            if !isPort { return nil }
            waitForHost()
        }
    }

    /// Waits until a host may have attached: the wake pipe, or (for a signal missed in between, or
    /// none at all) a short time before the caller polls the port again.
    private func waitForHost() {
        guard wake >= 0 else {
            usleep(50_000)
            return
        }
        var request = pollfd(fd: wake, events: Int16(POLLIN), revents: 0)
        if poll(&request, 1, 200) > 0 {
            var drain = [UInt8](repeating: 0, count: 64)
            _ = drain.withUnsafeMutableBytes { Glibc.read(wake, $0.baseAddress, $0.count) }
        }
    }

    /// Writes all of `bytes`; false when the peer is gone (the reply is then dropped: the host
    /// resynchronises when it comes back).
    func write(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR || errno == EAGAIN { continue }
                return false
            }
            offset += count
        }
        return true
    }
}

enum AgentEndpoint {
    /// Opens the character device, retrying until it appears (the init links it in once the port is
    /// announced by the host) or, when `giveUpAfter` is given, until that much time passed: an LPAR
    /// defined before the channel pool has only the first port. nil when it never appeared.
    static func openPort(_ path: String, wake: Int32, asksForSignal: Bool, giveUpAfter: Duration? = nil) -> AgentLink? {
        let deadline = giveUpAfter.map { ContinuousClock.now + $0 }
        var reported = false
        while true {
            let descriptor = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY)
            if descriptor >= 0 {
                let signals = asksForSignal && askForHostSignal(descriptor)
                return AgentLink(descriptor: descriptor, isPort: true, wake: signals ? wake : -1)
            }
            if let deadline, ContinuousClock.now >= deadline { return nil }
            if !reported && deadline == nil {
                log("waiting for \(path) (\(String(cString: strerror(errno))))")
                reported = true
            }
            usleep(100_000)
        }
    }

    /// Asks the driver for SIGIO on the port (O_ASYNC) when a host attaches; `HostAttachSignals`
    /// has it blocked in every thread and takes it. False when that fails.
    private static func askForHostSignal(_ port: Int32) -> Bool {
        fcntl(port, F_SETOWN, getpid()) == 0 && fcntl(port, F_SETFL, fcntl(port, F_GETFL) | O_ASYNC) == 0
    }

    /// Listens on a Unix socket at `path` (replacing a stale one) and hands each client to `serve`
    /// on a thread of its own.
    static func listen(_ path: String, serve: @escaping @Sendable (AgentLink) -> Void) throws(PartitionError) -> Never {
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard listener >= 0 else { throw failure("create a Unix socket") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw PartitionError(.invalidArgument, "The socket path \(path) is too long.")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        unlink(path)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw failure("bind the Unix socket \(path)") }
        guard Glibc.listen(listener, 4) == 0 else { throw failure("listen on \(path)") }
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                throw failure("accept a client on \(path)")
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            // Clients are served at the same time, as the ports of the channel pool are.
            let started = WorkerThread.start {
                serve(AgentLink(descriptor: client, isPort: false))
                close(client)
            }
            if !started { close(client) }
        }
    }

    static func failure(_ step: String) -> PartitionError {
        PartitionError(.system, "partagent cannot \(step): \(String(cString: strerror(errno))).")
    }
}

/// Diagnostics go to stderr (the guest console); the channel carries only frames.
func log(_ message: String) {
    let line = Array("partagent: \(message)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// The first field of /proc/uptime, for the log.
func uptimeSeconds() -> String {
    let descriptor = open("/proc/uptime", O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return "?" }
    defer { close(descriptor) }
    var buffer = [UInt8](repeating: 0, count: 64)
    let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
    guard count > 0 else { return "?" }
    return String(decoding: buffer[..<count].prefix { $0 != UInt8(ascii: " ") }, as: UTF8.self)
}
