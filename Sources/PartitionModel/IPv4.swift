/// An IPv4 address as one number, written as dotted quads ("10.77.0.2"). Parsed strictly: four
/// decimal parts 0–255, no leading zeros (inet_aton's octal and short forms are refused, as in
/// profiles a typo must not become another address).
public struct IPv4Address: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public let value: UInt32

    public init(_ value: UInt32) { self.value = value }

    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part.count == 1 || part.first != "0", let byte = UInt32(part), byte <= 255 else { return nil }
            value = value << 8 | byte
        }
        self.value = value
    }

    public var description: String {
        "\(value >> 24).\(value >> 16 & 0xff).\(value >> 8 & 0xff).\(value & 0xff)"
    }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let address = IPv4Address(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text.prefix(40))' is not an IPv4 address"))
        }
        self = address
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// An IPv4 network, "10.77.0.0/24": the address is kept with its host bits cleared.
public struct IPv4Subnet: Hashable, Sendable, Codable, CustomStringConvertible {
    public let network: IPv4Address
    public let prefixLength: Int

    /// `10.77.0.0/24`; host bits set (`10.77.0.1/24`) are cleared. Prefixes 8–30 only: a network of
    /// partitions needs a gateway and at least one host, and a /7 is surely a typo.
    public init?(cidr text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let length = Int(parts[1]), (8...30).contains(length) else { return nil }
        self.init(containing: address, prefixLength: length)
    }

    public init(containing address: IPv4Address, prefixLength: Int) {
        self.prefixLength = prefixLength
        self.network = IPv4Address(address.value & IPv4Subnet.mask(prefixLength))
    }

    public static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

    public var mask: UInt32 { IPv4Subnet.mask(prefixLength) }
    public var broadcast: IPv4Address { IPv4Address(network.value | ~mask) }
    /// The first and last addresses a host may have (network and broadcast addresses excluded).
    public var hosts: ClosedRange<IPv4Address> { IPv4Address(network.value + 1)...IPv4Address(broadcast.value - 1) }

    public func contains(_ address: IPv4Address) -> Bool { address.value & mask == network.value }

    public func overlaps(_ other: IPv4Subnet) -> Bool {
        let shorter = min(prefixLength, other.prefixLength)
        return network.value & IPv4Subnet.mask(shorter) == other.network.value & IPv4Subnet.mask(shorter)
    }

    public var description: String { "\(network)/\(prefixLength)" }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let subnet = IPv4Subnet(cidr: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text.prefix(40))' is not an IPv4 subnet"))
        }
        self = subnet
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension ClosedRange where Bound == IPv4Address {
    /// The lowest address of the range that `taken` does not hold, nil when it holds them all:
    /// how a managed network's lease book and an LPAR's guest network hand out addresses.
    public func lowestFree(excluding taken: Set<IPv4Address>) -> IPv4Address? {
        var value = lowerBound.value
        while true {
            if !taken.contains(IPv4Address(value)) { return IPv4Address(value) }
            if value == upperBound.value { return nil }
            value += 1
        }
    }
}
