/// Finds the escape sequence that leaves a console: the escape character (`~`) at the start of a
/// line followed by `.`, as in ssh. `~~` at the start of a line sends one `~`; a `~` followed by
/// anything else is sent unchanged.
public struct ConsoleEscape: Sendable, Hashable {
    public let character: UInt8
    private var atLineStart = true
    private var holdingEscape = false

    public init(character: UInt8 = UInt8(ascii: "~")) {
        self.character = character
    }

    /// Passes typed bytes through. `forward` is what goes to the guest; `leave` is true once the
    /// sequence was typed, and `forward` then holds only what came before it.
    public mutating func filter(_ bytes: some Sequence<UInt8>) -> (forward: [UInt8], leave: Bool) {
        var forward: [UInt8] = []
        for byte in bytes {
            if holdingEscape {
                holdingEscape = false
                if byte == UInt8(ascii: ".") { return (forward, true) }
                forward.append(character)
                if byte == character {
                    atLineStart = false
                    continue
                }
            } else if atLineStart && byte == character {
                holdingEscape = true
                continue
            }
            forward.append(byte)
            atLineStart = byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        }
        return (forward, false)
    }
}
