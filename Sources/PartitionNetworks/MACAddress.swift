import Glibc
import PartitionModel

/// The MAC addresses partctl gives adapters on its managed networks: the lease book's key.
public enum MACAddress {
    /// `52:54:00:AB:cd:01` as `52:54:00:ab:cd:01`; anything but six two-digit hex bytes is refused.
    public static func normalized(_ text: String) throws(PartitionError) -> String {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else {
            throw PartitionError(.invalidArgument, "'\(text.prefix(40))' is not a MAC address like 52:54:00:12:34:56.")
        }
        let lower = text.lowercased()
        guard let first = UInt8(parts[0], radix: 16), first & 1 == 0 else {
            throw PartitionError(.invalidArgument, "\(lower) is a multicast MAC address, which no adapter can have.")
        }
        return lower
    }

    /// A host WPAR's `eth0`: locally administered (02:…) and derived from its path, so the same
    /// WPAR keeps its MAC (and with it its lease) across activations and redefinitions.
    public static func wpar(_ partition: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in partition.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return format([0x02] + (0..<5).map { UInt8(truncatingIfNeeded: hash >> (8 * UInt64($0))) })
    }

    /// An LPAR adapter's: QEMU's prefix 52:54:00 (as libvirt picks) and three random bytes.
    public static func randomLpar() -> String {
        format([0x52, 0x54, 0x00] + (0..<3).map { _ in UInt8.random(in: 0...255) })
    }

    static func format(_ bytes: [UInt8]) -> String {
        bytes.map { byte in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }.joined(separator: ":")
    }
}
