/// The name of a snapshot (`snapshot create PATH --name N`): the same rules as a partition's name
/// (lowercase letters, digits, '-' and '_', 1-32, starting with a letter or digit), so it is safe
/// as a directory name, in libvirt's snapshot XML and on a command line.
public struct SnapshotName: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(PartitionError) {
        if let problem = Self.problem(with: text) { throw PartitionError(.invalidArgument, problem) }
        rawValue = text
    }

    /// Why `text` is not a valid snapshot name, or nil.
    public static func problem(with text: String) -> String? {
        guard let problem = PartitionName.problem(with: text) else { return nil }
        return "Bad snapshot name: " + problem.replacingPartitionWord()
    }

    public var description: String { rawValue }
    public static func < (lhs: SnapshotName, rhs: SnapshotName) -> Bool { lhs.rawValue < rhs.rawValue }

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

private extension String {
    /// "The partition name 'X' ..." becomes "the name 'X' ..." (no Foundation here).
    func replacingPartitionWord() -> String {
        let prefixes = ["The partition name ", "A partition name "]
        for prefix in prefixes where hasPrefix(prefix) { return "the name " + dropFirst(prefix.count) }
        return self
    }
}
