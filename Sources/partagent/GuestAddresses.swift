import AgentProtocol
import Glibc

/// The guest's own addresses (getifaddrs), as `system.addresses` reports them: IPv4 and IPv6,
/// without loopback and link-local ones, IPv4 first, each once. The guest network's bridge
/// (partctl0, 10.78.0.1 in every LPAR) is left out: nothing outside the guest reaches it.
enum GuestAddresses {
    static func global() -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var v4: [String] = []
        var v6: [String] = []
        var entry: UnsafeMutablePointer<ifaddrs>? = first
        while let current = entry {
            defer { entry = current.pointee.ifa_next }
            guard let address = current.pointee.ifa_addr else { continue }
            if String(cString: current.pointee.ifa_name) == Agent.GuestNetwork.bridge { continue }
            var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                var ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                guard inet_ntop(AF_INET, &ipv4, &buffer, socklen_t(buffer.count)) != nil else { continue }
                let text = String(cString: buffer)
                if !text.hasPrefix("127."), !text.hasPrefix("169.254."), !v4.contains(text) { v4.append(text) }
            case AF_INET6:
                var ipv6 = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                guard inet_ntop(AF_INET6, &ipv6, &buffer, socklen_t(buffer.count)) != nil else { continue }
                let text = String(cString: buffer)
                if text != "::1", !text.lowercased().hasPrefix("fe80:"), !v6.contains(text) { v6.append(text) }
            default:
                continue
            }
        }
        return v4 + v6
    }
}
