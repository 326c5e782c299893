import PartitionModel
import SystemKit

/// The host's IPv4 routes (main table, /proc/net/route): which interface an address is reached
/// through, so that the forwards' bridges get route_localnet and the hairpin and guard rules.
public enum HostRoutes {
    public struct Route: Sendable, Equatable {
        public var interface: String
        public var destination: UInt32
        public var mask: UInt32
        public var metric: Int
    }

    /// /proc/net/route: a header line, then `Iface Destination Gateway Flags RefCnt Use Metric Mask ...`
    /// with each address's network-order bytes printed as one host-order number (00004D0A is 10.77.0.0 here).
    /// Every well-formed line, up or not: HostNetworkFacts.routes reads the same table through it.
    static func entries(_ text: String) -> [(route: Route, up: Bool)] {
        text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 8, let destination = UInt32(fields[1], radix: 16), let flags = UInt32(fields[3], radix: 16),
                  let metric = Int(fields[6]), let mask = UInt32(fields[7], radix: 16) else { return nil }
            return (Route(interface: String(fields[0]), destination: UInt32(bigEndian: destination),
                          mask: UInt32(bigEndian: mask), metric: metric), flags & 1 != 0)
        }
    }

    /// The routes that are up (RTF_UP).
    public static func parse(_ text: String) -> [Route] {
        entries(text).filter(\.up).map(\.route)
    }

    /// The interface of the most specific route to `address` (lowest metric among equals).
    public static func interface(for address: IPv4Address, in routes: [Route]) -> String? {
        routes.filter { address.value & $0.mask == $0.destination & $0.mask }
            .min { ($0.mask.nonzeroBitCount, -$0.metric) > ($1.mask.nonzeroBitCount, -$1.metric) }?.interface
    }

    public static func current() -> [Route] {
        parse(FileIO.readText("/proc/net/route", limit: 1 << 20) ?? "")
    }

    /// Whether `interface` is a Linux bridge; only names safe to write into an nft script count.
    public static func isBridge(_ interface: String) -> Bool {
        ForwardRules.isInterfaceName(interface) && HostNetworkFacts.isBridge(interface)
    }
}
