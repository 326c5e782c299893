import Glibc
import PartitionModel

/// A byte pipe to the host: the virtio-serial port, or one accepted socket connection.
struct AgentLink {
    let descriptor: Int32
    /// A virtio port outlives host sessions: reading "nothing" there means no host is attached yet.
    let isPort: Bool
    /// On a port: whether SIGIO (blocked, so it stays pending) tells when a host attaches, which
    /// the virtio console driver sends for an O_ASYNC port; poll only reports POLLHUP while none is.
    var signalsHost = false

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

    /// Waits until a host attaches to the port: for its SIGIO when the driver sends one, else (or
    /// for a signal missed in between) a short sleep before the caller polls again.
    private func waitForHost() {
        guard signalsHost else {
            usleep(50_000)
            return
        }
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGIO)
        var wait = timespec(tv_sec: 0, tv_nsec: 200_000_000)
        _ = sigtimedwait(&signals, nil, &wait)
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
    /// announced by the host).
    static func openPort(_ path: String) -> AgentLink {
        var reported = false
        while true {
            let descriptor = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY)
            if descriptor >= 0 { return AgentLink(descriptor: descriptor, isPort: true, signalsHost: askForHostSignal(descriptor)) }
            if !reported {
                log("waiting for \(path) (\(String(cString: strerror(errno))))")
                reported = true
            }
            usleep(100_000)
        }
    }

    /// Asks the driver for SIGIO on the port (O_ASYNC), the signal blocked so that it waits to be
    /// taken by `sigtimedwait`; false when that fails, and the link falls back to polling.
    private static func askForHostSignal(_ port: Int32) -> Bool {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGIO)
        guard sigprocmask(SIG_BLOCK, &signals, nil) == 0 else { return false }
        return fcntl(port, F_SETOWN, getpid()) == 0 && fcntl(port, F_SETFL, fcntl(port, F_GETFL) | O_ASYNC) == 0
    }

    /// Listens on a Unix socket at `path` (replacing a stale one) and hands each client to `serve`,
    /// one at a time.
    static func listen(_ path: String, serve: (AgentLink) -> Void) throws(PartitionError) -> Never {
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
            serve(AgentLink(descriptor: client, isPort: false))
            close(client)
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
