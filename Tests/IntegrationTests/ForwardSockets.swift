import Foundation
import Glibc

/// Sockets the forward tests hold or talk through on the host: a port kept busy (the refusal of a
/// port in use) and one UDP exchange with a deadline.
enum ForwardSockets {
    /// A TCP socket listening on 0.0.0.0:`port` (127.0.0.1 with `loopback`), or a UDP one bound
    /// there; -1 when the port is taken.
    static func bind(_ port: Int, udp: Bool, loopback: Bool = false) -> Int32 {
        let fd = socket(AF_INET, Int32(udp ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return -1 }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        if loopback { address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, udp || listen(fd, 4) == 0 else { close(fd); return -1 }
        return fd
    }

    /// A port from 20000–45000 that nothing on the host uses for TCP or UDP right now.
    static func freePort() -> Int {
        while true {
            let port = Int.random(in: 20000...45000)
            let tcp = bind(port, udp: false), udp = bind(port, udp: true)
            if tcp >= 0 { close(tcp) }
            if udp >= 0 { close(udp) }
            if tcp >= 0 && udp >= 0 { return port }
        }
    }

    /// Sends `message` to `host:port` over UDP until an answer comes (datagrams may be lost) or
    /// `seconds` pass; the answer, or nil.
    static func udpExchange(_ message: String, host: String, port: Int, seconds: Double) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &address.sin_addr)
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 2048)
        while Date() < deadline {
            let sent = Array(message.utf8).withUnsafeBytes { bytes in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            guard sent >= 0 else { return nil }
            let count = recv(fd, &buffer, buffer.count, 0)
            if count > 0 { return String(decoding: buffer[..<count], as: UTF8.self) }
        }
        return nil
    }
}
