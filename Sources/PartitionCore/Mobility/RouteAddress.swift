#if canImport(Glibc)
import Glibc
#endif

/// The address this machine uses toward another host: where that host's QEMU can send a migration
/// stream back. Read from the kernel's route choice (a UDP socket connected, never written).
enum RouteAddress {
    /// `10.79.1.1` or `[fd00::1]` for the route to `host` (a name or an address, `[v6]` too); nil
    /// when there is no route.
    static func toward(_ host: String) -> String? {
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_DGRAM.rawValue)
        var found: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(bare, "9", &hints, &found) == 0, let first = found else { return nil }
        defer { freeaddrinfo(found) }
        let family = first.pointee.ai_family
        let descriptor = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        guard connect(descriptor, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        var text = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let named = withUnsafeMutablePointer(to: &local) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address -> Bool in
                getsockname(descriptor, address, &length) == 0 &&
                    getnameinfo(address, length, &text, socklen_t(text.count), nil, 0, NI_NUMERICHOST) == 0
            }
        }
        guard named else { return nil }
        let address = String(cString: text)
        return family == AF_INET6 ? "[\(address)]" : address
    }
}
