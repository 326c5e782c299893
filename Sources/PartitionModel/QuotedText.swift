/// User text quoted for an error message: control characters made visible, long text cut at
/// `limit` characters (names are short, paths must stay readable).
package enum QuotedText {
    package static func of(_ text: String, limit: Int = 80) -> String {
        var shown = ""
        for scalar in text.unicodeScalars.prefix(limit) {
            shown += scalar.value < 0x20 || scalar.value == 0x7f ? scalar.escaped(asASCII: true) : String(scalar)
        }
        if text.unicodeScalars.count > limit { shown += "…" }
        return "'\(shown)'"
    }
}
