import PartitionModel
import SystemKit

/// Whether a port is taken on the host: a listening TCP socket or a bound UDP socket, on any
/// address, IPv4 or IPv6, in the host's network namespace (the one partctl runs in). A forward on
/// such a port would take its connections away from the program that listens there.
public enum HostPortUse {
    /// /proc/net/{tcp,tcp6,udp,udp6}: `sl local_address rem_address st ...` with the local address
    /// as HEX:PORT (port in hex). TCP counts when listening (st 0A); UDP when bound at all.
    public static func ports(in table: String, listeningOnly: Bool) -> Set<Int> {
        var ports: Set<Int> = []
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, let colon = fields[1].lastIndex(of: ":"),
                  let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16), port > 0 else { continue }
            if listeningOnly && fields[3] != "0A" { continue }
            ports.insert(port)
        }
        return ports
    }

    /// Who uses `port` with `proto` on the host, or nil when it is free: "a listening TCP socket".
    public static func user(of port: Int, _ proto: ForwardProtocol) -> String? {
        let files = proto == .tcp ? ["/proc/net/tcp", "/proc/net/tcp6"] : ["/proc/net/udp", "/proc/net/udp6"]
        for file in files {
            guard let table = FileIO.readText(file, limit: 64 << 20) else { continue }
            if ports(in: table, listeningOnly: proto == .tcp).contains(port) {
                return proto == .tcp ? "a program listens on TCP port \(port) on the host" : "a program has UDP port \(port) bound on the host"
            }
        }
        return nil
    }
}
