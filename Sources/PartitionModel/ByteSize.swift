/// An amount of memory or storage in bytes, written with a unit: `384MiB`, `1GiB`, `512M`, `2G`.
/// `K`/`M`/`G`/`T` and `KiB`/`MiB`/`GiB`/`TiB` are binary (1024); `kB`/`MB`/`GB`/`TB` decimal.
/// A bare number is refused: "512" is too easy to mean in the wrong unit.
public struct ByteSize: Hashable, Sendable, Comparable, Codable, CustomStringConvertible {
    public let bytes: UInt64

    public init(bytes: UInt64) { self.bytes = bytes }
    public static func mebibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 20) }
    public static func kibibytes(_ value: UInt64) -> ByteSize { ByteSize(bytes: value << 10) }

    public var kibibytes: UInt64 { bytes >> 10 }
    public var mebibytes: UInt64 { bytes >> 20 }

    private static let units: [(String, UInt64)] = [
        ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10),
        ("TB", 1_000_000_000_000), ("GB", 1_000_000_000), ("MB", 1_000_000), ("kB", 1_000), ("KB", 1_000),
        ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("k", 1 << 10), ("B", 1),
    ]

    /// Parses a size; the error says what was wrong with the text.
    public init(parsing text: String) throws(PartitionError) {
        let trimmed = text.trimmingSpaces
        let shown = PartitionName.quoted(text)
        guard let unit = ByteSize.units.first(where: { trimmed.hasSuffix($0.0) }) else {
            if !trimmed.isEmpty, trimmed.allSatisfy(\.isNumber) {
                throw PartitionError(.invalidArgument, "The size \(shown) has no unit; write it as e.g. '\(trimmed)MiB' or '\(trimmed)GiB'.")
            }
            throw PartitionError(.invalidArgument, "The size \(shown) does not parse; write a number with a unit, e.g. '512MiB' or '2GiB'.")
        }
        let number = trimmed.dropLast(unit.0.count).trimmingSpaces
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2,
              parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let whole = UInt64(parts[0]) else {
            throw PartitionError(.invalidArgument, "The size \(shown) does not parse; write a number with a unit, e.g. '512MiB' or '2GiB'.")
        }
        var (total, overflow) = whole.multipliedReportingOverflow(by: unit.1)
        if parts.count == 2, !overflow {
            // Fractions like 1.5GiB: scale the digits, rounding down to a byte.
            let digits = parts[1].prefix(9)
            var scale: UInt64 = 1
            for _ in digits { scale *= 10 }
            let fraction = UInt64(digits)! // checked to be digits above
            let (part, o1) = fraction.multipliedReportingOverflow(by: unit.1)
            let (sum, o2) = total.addingReportingOverflow(part / scale)
            total = sum
            overflow = o1 || o2
        }
        if overflow {
            throw PartitionError(.outOfRange, "The size \(shown) is too large.")
        }
        bytes = total
    }

    /// The shortest exact binary form: `384MiB`, `2GiB`, or bytes.
    public var description: String {
        for (name, factor) in [("TiB", UInt64(1) << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where bytes >= factor && bytes % factor == 0 {
            return "\(bytes / factor)\(name)"
        }
        return "\(bytes)B"
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do { try self.init(parsing: text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs; `package`: the profile reader
    /// (PartitionProfiles) trims the same way. Indices, not `reversed()`: reversing a string makes
    /// the runtime look up generic conformances at every start (measured ~0.3 ms per `run`).
    package var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }),
              let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
