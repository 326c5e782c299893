import PartitionModel

/// A checked image name: the directory of the image under the store, its lock file, and part of its
/// base volume's name in the `partctl` pool. Only `init(validating:)` makes one.
public struct ImageName: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let text: String

    /// Refuses (`.invalidArgument`, one line) a name with `/`, `..`, uppercase letters or anything
    /// outside `[a-z0-9][a-z0-9._-]{0,62}`.
    public init(validating text: String) throws(PartitionError) {
        if let problem = ImageNameRule.problem(text) {
            throw PartitionError(.invalidArgument, "The image name \(QuotedText.of(text)) \(problem)")
        }
        self.text = text
    }

    public var description: String { text }

    public static func < (lhs: ImageName, rhs: ImageName) -> Bool { lhs.text < rhs.text }
}
