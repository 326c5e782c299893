/// The rule for image names (`[a-z0-9][a-z0-9._-]{0,62}`, never `..`), in the model so that the
/// profile reader checks `image:` exactly as the image store does. An image name is one path
/// component under the store, so anything that could leave that directory is refused.
public enum ImageNameRule {
    public static let maxLength = 63
    static let allowed = "lowercase letters, digits, '.', '_' and '-', starting with a letter or digit"

    /// Why `text` is not an image name, as the end of a sentence that starts with the name; nil
    /// when it is one.
    public static func problem(_ text: String) -> String? {
        if text.isEmpty { return "is empty; an image name is 1-\(maxLength) \(allowed)." }
        if text.contains("/") { return "contains '/'; an image name is one name of \(allowed), not a path." }
        if text.contains("..") { return "contains '..'; an image name is \(allowed), and never '..'." }
        if text.unicodeScalars.count > maxLength {
            return "is \(text.unicodeScalars.count) characters long; at most \(maxLength) are allowed."
        }
        if text.unicodeScalars.contains(where: { $0.value >= 0x41 && $0.value <= 0x5a }) {
            return "contains uppercase letters; image names are lowercase (\(allowed))."
        }
        let first = text.unicodeScalars.first!
        if !isLetterOrDigit(first) { return "must start with a lowercase letter or digit." }
        if let bad = text.unicodeScalars.first(where: { !isLetterOrDigit($0) && !"._-".unicodeScalars.contains($0) }) {
            return "contains \(QuotedText.of(String(bad))), which an image name cannot hold; use \(allowed)."
        }
        return nil
    }

    private static func isLetterOrDigit(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value >= 0x61 && scalar.value <= 0x7a) || (scalar.value >= 0x30 && scalar.value <= 0x39)
    }
}
