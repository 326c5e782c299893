import Testing
@testable import SystemKit

@Suite("Console escape")
struct ConsoleEscapeTests {
    private func run(_ chunks: [String]) -> (sent: String, left: Bool) {
        var escape = ConsoleEscape()
        var sent: [UInt8] = []
        for chunk in chunks {
            let (forward, leave) = escape.filter(Array(chunk.utf8))
            sent += forward
            if leave { return (String(decoding: sent, as: UTF8.self), true) }
        }
        return (String(decoding: sent, as: UTF8.self), false)
    }

    @Test(arguments: [
        (["~."], "", true),
        (["ls\r~."], "ls\r", true),
        (["ls\n", "~", "."], "ls\n", true),
        (["a~."], "a~.", false),
        (["~~."], "~.", false),
        (["~x"], "~x", false),
        (["\r~\r~."], "\r~\r", true),
        (["echo ~.\r"], "echo ~.\r", false),
    ])
    func escapeOnlyAtTheStartOfALine(chunks: [String], sent: String, left: Bool) {
        let result = run(chunks)
        #expect(result.sent == sent)
        #expect(result.left == left)
    }

    @Test func anotherEscapeCharacter() {
        var escape = ConsoleEscape(character: UInt8(ascii: "%"))
        #expect(escape.filter(Array("~.".utf8)) == (Array("~.".utf8), false))
        #expect(escape.filter(Array("\r%.".utf8)) == (Array("\r".utf8), true))
    }
}
