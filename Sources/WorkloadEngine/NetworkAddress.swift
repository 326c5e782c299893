import Glibc
import PartitionModel

/// An IPv4 or IPv6 address, parsed with inet_pton.
struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    /// AF_INET or AF_INET6, as netlink headers carry it.
    let family: UInt8
    /// Network byte order: 4 or 16 bytes.
    let bytes: [UInt8]

    init?(_ text: String) {
        for (family, size) in [(AF_INET, 4), (AF_INET6, 16)] {
            var buffer = [UInt8](repeating: 0, count: size)
            if inet_pton(family, text, &buffer) == 1 {
                self.family = UInt8(family)
                self.bytes = buffer
                return
            }
        }
        return nil
    }

    var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        _ = bytes.withUnsafeBytes { inet_ntop(Int32(family), $0.baseAddress, &text, socklen_t(text.count)) }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the first `length` bits of both addresses agree.
    func shares(prefix length: Int, with other: IPAddress) -> Bool {
        guard family == other.family else { return false }
        for bit in 0..<length {
            let mask = UInt8(0x80) >> (bit % 8)
            if bytes[bit / 8] & mask != other.bytes[bit / 8] & mask { return false }
        }
        return true
    }
}

/// An address with its prefix length, from CIDR text such as "10.77.0.2/24".
struct IPAddressPrefix: Hashable, Sendable, CustomStringConvertible {
    let address: IPAddress
    let length: Int

    init(cidr text: String) throws(PartitionError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPAddress(String(parts[0])), let length = Int(parts[1]),
              (1...(address.bytes.count * 8)).contains(length) else {
            throw PartitionError(.invalidArgument, "The address '\(text.prefix(60))' is not an address with a prefix length, such as 10.77.0.2/24.")
        }
        guard address.bytes.contains(where: { $0 != 0 }) else {
            throw PartitionError(.invalidArgument, "The address '\(text)' is unspecified; give the WPAR an address of its own.")
        }
        self.address = address
        self.length = length
    }

    var description: String { "\(address)/\(length)" }
}
