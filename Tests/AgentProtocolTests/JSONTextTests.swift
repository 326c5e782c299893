import AgentProtocol
import PartitionModel
import Testing

@Suite struct JSONTextTests {
    @Test(arguments: [
        "null", "true", "false", "0", "-7", "9223372036854775807", "18446744073709551615", "0.5", "-1.25e-3", "\"\"",
        "\"a\\\"b\\\\c\\n\\t\\u0001é\"", "[]", "{}", "[1,[2,[3]],{\"k\":null}]", "{\"a\":{\"b\":[true,\"x\"]}}",
    ])
    func valuesRoundTrip(text: String) throws {
        let value = try JSONText.parse(Array(text.utf8))
        #expect(try JSONText.parse(JSONText.serialize(value)) == value)
    }

    @Test func numbersKeepTheirKind() throws {
        #expect(try JSONText.parse(Array("42".utf8)) == .integer(42))
        #expect(try JSONText.parse(Array("18446744073709551615".utf8)) == .unsigned(UInt64.max))
        #expect(try JSONText.parse(Array("1e3".utf8)) == .number(1000))
        #expect(try JSONText.parse(Array("[\"\\ud83d\\ude00\"]".utf8)) == .array([.string("😀")]))
    }

    @Test func serializedTextHasNoRawNewlineAndSortedKeys() throws {
        let text = String(decoding: try JSONText.serialize(.object(["b": .string("x\ny"), "a": .integer(1)])), as: UTF8.self)
        #expect(text == "{\"a\":1,\"b\":\"x\\ny\"}")
    }

    @Test(arguments: [
        "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", "-", "1e", "tru", "nul", "\"abc",
        "\"\\x\"", "\"\\ud800\"", "\"\u{01}\"", "1 2", "{\"a\":1,\"a\":2}", "[1]]", "\"\\u12\"",
    ])
    func malformedTextIsRefused(text: String) {
        let error = #expect(throws: PartitionError.self) { try JSONText.parse(Array(text.utf8)) }
        #expect(error?.code == .agent)
    }

    @Test func invalidUTF8AndDeepNestingAreRefused() {
        #expect(throws: PartitionError.self) { try JSONText.parse([UInt8(ascii: "\""), 0xFF, UInt8(ascii: "\"")]) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: PartitionError.self) { try JSONText.parse(Array(deep.utf8)) }
    }

    @Test func nonFiniteNumbersCannotBeSent() {
        #expect(throws: PartitionError.self) { try JSONText.serialize(.number(.infinity)) }
    }
}
