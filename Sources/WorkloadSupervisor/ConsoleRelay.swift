import Glibc

/// The init's console: the supervisor holds the pseudo-terminal's master and serves one client
/// at a time on a unix socket. Without a client the output is still drained (the init never
/// blocks on its console) and the last few kilobytes are kept for the next client.
final class ConsoleRelay {
    let master: Int32
    private let listener: Int32
    private var client: Int32 = -1
    /// Our own descriptor of the terminal's slave: while it is open, the master never reports a
    /// hang-up when the WPAR's processes close theirs.
    private let slave: Int32
    private var recent: [UInt8] = []
    private static let recentLimit = 4096

    init?(master: Int32, socketPath: String) {
        self.master = master
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        // TIOCGPTPEER: the slave of this very master, without a path lookup.
        slave = ioctl(master, UInt(0x5441), O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else { return nil }
        guard let listener = ConsoleRelay.listen(at: socketPath) else {
            close(slave)
            return nil
        }
        self.listener = listener
    }

    private static func listen(at path: String) -> Int32? {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            return nil
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in bytes.enumerated() { buffer[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        // Only root may attach (the runtime directory is 0700 as well).
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(fd, 4) == 0 else {
            close(fd)
            return nil
        }
        return fd
    }

    /// The descriptors to poll and what to wait for on each.
    var pollDescriptors: [pollfd] {
        var fds = [pollfd(fd: master, events: Int16(POLLIN), revents: 0), pollfd(fd: listener, events: Int16(POLLIN), revents: 0)]
        if client >= 0 { fds.append(pollfd(fd: client, events: Int16(POLLIN), revents: 0)) }
        return fds
    }

    /// Handles whatever poll reported for our descriptors.
    func handle(_ ready: [pollfd]) {
        for entry in ready where entry.revents != 0 {
            if entry.fd == master { pumpOutput() }
            else if entry.fd == listener { acceptClient() }
            else if entry.fd == client { pumpInput() }
        }
    }

    private func pumpOutput() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let got = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
        guard got > 0 else { return }
        let chunk = Array(buffer[..<got])
        recent += chunk
        if recent.count > ConsoleRelay.recentLimit { recent.removeFirst(recent.count - ConsoleRelay.recentLimit) }
        if client >= 0 { send(chunk) }
    }

    private func pumpInput() {
        var buffer = [UInt8](repeating: 0, count: 4096)
        let got = buffer.withUnsafeMutableBytes { read(client, $0.baseAddress, $0.count) }
        if got < 0 && (errno == EINTR || errno == EAGAIN) { return }
        guard got > 0 else {
            dropClient()  // detached: the WPAR runs on
            return
        }
        // A WPAR that does not read its console loses input rather than stalling its supervisor.
        _ = buffer.withUnsafeBytes { write(master, $0.baseAddress, got) }
    }

    private func acceptClient() {
        let fd = accept(listener, nil, nil)
        guard fd >= 0 else { return }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        if client >= 0 {
            _ = SupervisorFiles.writeAll(fd, Array("partctl: the console is in use by another client.\r\n".utf8))
            close(fd)
            return
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        client = fd
        send(recent)
    }

    private func send(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        let written = bytes.withUnsafeBytes { Glibc.send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if written < 0 && errno != EAGAIN && errno != EINTR { dropClient() }
    }

    private func dropClient() {
        if client >= 0 { close(client) }
        client = -1
    }

    func shutDown() {
        dropClient()
        Glibc.close(listener)
        Glibc.close(slave)
        Glibc.close(master)
    }
}
