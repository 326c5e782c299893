import Glibc
import PartitionModel
import SystemKit

/// A route of the host's main table (/proc/net/route): a managed network must not overlap one, or
/// the host would reach that subnet two ways.
public struct HostRoute: Sendable, Hashable {
    public var interface: String
    public var subnet: IPv4Subnet

    public init(interface: String, subnet: IPv4Subnet) {
        self.interface = interface
        self.subnet = subnet
    }
}

/// Another network the host knows that a managed one must not collide with: a libvirt network
/// (the `network` verb passes them in, PartitionNetworks has no libvirt).
public struct ForeignNetwork: Sendable, Hashable {
    public var name: String
    public var bridge: String?
    public var subnets: [IPv4Subnet]

    public init(name: String, bridge: String?, subnets: [IPv4Subnet]) {
        self.name = name
        self.bridge = bridge
        self.subnets = subnets
    }
}

/// What the host's network looks like, read from /proc and /sys (no program started).
public enum HostNetworkFacts {
    /// The routes of the main table except default routes (a /0 overlaps everything).
    public static func routes() -> [HostRoute] {
        guard let text = FileIO.readText("/proc/net/route", limit: 1 << 20) else { return [] }
        return parseRoutes(text)
    }

    /// The table as HostRoutes reads it (up or not), as prefixes: a malformed mask and default
    /// routes (length 0, they overlap everything) are skipped.
    public static func parseRoutes(_ text: String) -> [HostRoute] {
        HostRoutes.entries(text).compactMap { entry in
            let length = entry.route.mask.nonzeroBitCount
            guard length > 0, entry.route.mask == IPv4Subnet.mask(length) else { return nil }
            return HostRoute(interface: entry.route.interface,
                             subnet: IPv4Subnet(containing: IPv4Address(entry.route.destination), prefixLength: length))
        }
    }

    /// Whether the host has a network interface of this name.
    public static func interfaceExists(_ name: String) -> Bool {
        guard !name.contains("/"), !name.isEmpty, name != ".", name != ".." else { return false }
        return access("/sys/class/net/\(name)", F_OK) == 0
    }

    /// Whether the interface exists and is a bridge.
    public static func isBridge(_ name: String) -> Bool {
        interfaceExists(name) && access("/sys/class/net/\(name)/bridge", F_OK) == 0
    }

    /// Whether the interface is administratively up (IFF_UP in its flags).
    public static func isUp(_ name: String) -> Bool {
        guard let text = FileIO.readText("/sys/class/net/\(name)/flags", limit: 64) else { return false }
        let digits = text.filter { !$0.isWhitespace }
        let value = digits.hasPrefix("0x") ? UInt32(digits.dropFirst(2), radix: 16) : UInt32(digits)
        return (value ?? 0) & 1 != 0
    }
}
