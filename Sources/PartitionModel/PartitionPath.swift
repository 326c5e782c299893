/// A partition name: lowercase letters, digits, `-` and `_`, 1–32 characters, starting with a
/// letter or digit. Checked before anything reaches libvirt, a path on disk or a command line.
public struct PartitionName: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public static let maxLength = 32
    public let rawValue: String

    public init(_ text: String) throws(PartitionError) {
        if let problem = PartitionName.problem(with: text) {
            throw PartitionError(.invalidArgument, problem)
        }
        rawValue = text
    }

    /// Why `text` is not a valid name, or nil when it is.
    public static func problem(with text: String) -> String? {
        let shown = quoted(text)
        if text.isEmpty { return "A partition name must not be empty." }
        let bytes = Array(text.utf8)
        if bytes.count > maxLength {
            return "The partition name \(shown) is \(bytes.count) characters long; at most \(maxLength) are allowed."
        }
        for byte in bytes where !(isLowerAlnum(byte) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")) {
            let what: String
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): what = "an uppercase letter"
            case UInt8(ascii: "/"): what = "'/'"
            case UInt8(ascii: " "): what = "a space"
            case UInt8(ascii: "."): what = "'.'"
            case 0x21...0x7e: what = "'\(Character(Unicode.Scalar(byte)))'"
            default: what = "a control or non-ASCII character"
            }
            return "The partition name \(shown) contains \(what); use lowercase letters, digits, '-' and '_'."
        }
        if !isLowerAlnum(bytes[0]) {
            return "The partition name \(shown) must start with a lowercase letter or a digit."
        }
        return nil
    }

    private static func isLowerAlnum(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// Quotes user text for an error message, with control characters made visible and the length capped.
    static func quoted(_ text: String) -> String { QuotedText.of(text, limit: 40) }

    public var description: String { rawValue }
    public static func < (lhs: PartitionName, rhs: PartitionName) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Where a partition sits in the tree: `/` is the managed system, `lp1` an LPAR or host WPAR,
/// `lp1/web` a WPAR nested in LPAR `lp1`. At most two levels below the root.
public struct PartitionPath: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public static let maxDepth = 2
    public let components: [PartitionName]

    public static let root = PartitionPath(components: [])

    public init(components: [PartitionName]) {
        precondition(components.count <= PartitionPath.maxDepth)
        self.components = components
    }

    /// Parses `lp1`, `lp1/web`, `/lp1` or `/` (the root).
    public init(_ text: String) throws(PartitionError) {
        var body = Substring(text)
        if body.hasPrefix("/") { body = body.dropFirst() }
        if body.isEmpty {
            guard text == "/" else { throw PartitionError(.invalidArgument, "A partition path must not be empty.") }
            self.components = []
            return
        }
        let parts = body.split(separator: "/", omittingEmptySubsequences: false)
        if parts.count > PartitionPath.maxDepth {
            throw PartitionError(.invalidArgument,
                "The partition path \(PartitionName.quoted(text)) is too deep; partitions nest at most \(PartitionPath.maxDepth) levels (lpar/wpar).")
        }
        var names: [PartitionName] = []
        for part in parts {
            if part.isEmpty {
                throw PartitionError(.invalidArgument, "The partition path \(PartitionName.quoted(text)) has an empty component.")
            }
            names.append(try PartitionName(String(part)))
        }
        self.components = names
    }

    public var isRoot: Bool { components.isEmpty }
    public var name: PartitionName? { components.last }
    public var parent: PartitionPath? {
        isRoot ? nil : PartitionPath(components: Array(components.dropLast()))
    }
    public var depth: Int { components.count }

    public func appending(_ name: PartitionName) -> PartitionPath {
        PartitionPath(components: components + [name])
    }

    public var description: String {
        isRoot ? "/" : components.map(\.rawValue).joined(separator: "/")
    }

    public static func < (lhs: PartitionPath, rhs: PartitionPath) -> Bool {
        lhs.components.lexicographicallyPrecedes(rhs.components)
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do { try self.init(text) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
