/// User text quoted for an error message, capped and with control characters made visible.
enum QuotedText {
    static func of(_ text: String) -> String {
        var shown = ""
        for scalar in text.unicodeScalars.prefix(80) {
            shown += scalar.value < 0x20 || scalar.value == 0x7f ? scalar.escaped(asASCII: true) : String(scalar)
        }
        if text.unicodeScalars.count > 80 { shown += "…" }
        return "'\(shown)'"
    }
}
