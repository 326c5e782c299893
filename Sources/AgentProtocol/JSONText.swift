import PartitionModel

/// JSON text to `JSONValue` and back, without Foundation: every frame of the protocol goes through
/// here, and in the guest (TCG, about ten times slower than the host) the generic `Codable` path
/// cost milliseconds per frame. Strict: one value, no trailing bytes, valid UTF-8 and escapes, no
/// duplicate keys, nesting bounded while parsing (so a hostile frame cannot exhaust the stack).
public enum JSONText {
    /// Parsing stops at this depth; the codec refuses far less (`AgentWire.maximumDepth`).
    static let parseDepthLimit = 64

    public static func parse(_ bytes: [UInt8]) throws(PartitionError) -> JSONValue {
        var parser = Parser(bytes: bytes)
        parser.skipSpace()
        let value = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.index == bytes.count else { throw Parser.invalid("bytes after the value") }
        return value
    }

    /// Compact text with object keys sorted, so equal values give equal bytes.
    public static func serialize(_ value: JSONValue) throws(PartitionError) -> [UInt8] {
        var output: [UInt8] = []
        try write(value, into: &output)
        return output
    }

    private static func write(_ value: JSONValue, into output: inout [UInt8]) throws(PartitionError) {
        switch value {
        case .null: output += Array("null".utf8)
        case .bool(let flag): output += Array((flag ? "true" : "false").utf8)
        case .integer(let number): output += Array(String(number).utf8)
        case .unsigned(let number): output += Array(String(number).utf8)
        case .number(let number):
            guard number.isFinite else { throw PartitionError(.internal, "A number that is not finite cannot be sent as JSON.") }
            output += Array("\(number)".utf8)
        case .string(let text): writeString(text, into: &output)
        case .array(let values):
            output.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                try write(element, into: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let fields):
            output.append(UInt8(ascii: "{"))
            for (index, key) in fields.keys.sorted().enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(key, into: &output)
                output.append(UInt8(ascii: ":"))
                try write(fields[key]!, into: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Quotes and escapes; control characters (the newline too) never appear raw, so a frame's only
    /// newline is its terminator.
    private static func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
            case UInt8(ascii: "\\"): output += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
            case UInt8(ascii: "\n"): output += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
            case UInt8(ascii: "\r"): output += [UInt8(ascii: "\\"), UInt8(ascii: "r")]
            case UInt8(ascii: "\t"): output += [UInt8(ascii: "\\"), UInt8(ascii: "t")]
            case 0..<0x20:
                output += Array("\\u00".utf8) + [hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 15)]]
            default: output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        static func invalid(_ what: String) -> PartitionError {
            PartitionError(.agent, "Not valid JSON: \(what).")
        }

        mutating func skipSpace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func value(depth: Int) throws(PartitionError) -> JSONValue {
            guard depth < JSONText.parseDepthLimit else { throw Self.invalid("nested too deeply") }
            guard index < bytes.count else { throw Self.invalid("the text ends early") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): try literal("true"); return .bool(true)
            case UInt8(ascii: "f"): try literal("false"); return .bool(false)
            case UInt8(ascii: "n"): try literal("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw Self.invalid("unexpected character at byte \(index)")
            }
        }

        mutating func literal(_ word: String) throws(PartitionError) {
            let expected = Array(word.utf8)
            guard bytes.count - index >= expected.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw Self.invalid("unexpected word at byte \(index)")
            }
            index += expected.count
        }

        mutating func expect(_ character: UInt8) throws(PartitionError) {
            guard index < bytes.count, bytes[index] == character else {
                throw Self.invalid("expected '\(Character(Unicode.Scalar(character)))' at byte \(index)")
            }
            index += 1
        }

        mutating func object(depth: Int) throws(PartitionError) -> JSONValue {
            index += 1
            var fields: [String: JSONValue] = [:]
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
                index += 1
                return .object(fields)
            }
            while true {
                skipSpace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw Self.invalid("expected a key at byte \(index)") }
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                let element = try value(depth: depth + 1)
                guard fields.updateValue(element, forKey: key) == nil else { throw Self.invalid("the key \"\(key.prefix(40))\" appears twice") }
                skipSpace()
                guard index < bytes.count else { throw Self.invalid("the text ends inside an object") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "}"))
                return .object(fields)
            }
        }

        mutating func array(depth: Int) throws(PartitionError) -> JSONValue {
            index += 1
            var values: [JSONValue] = []
            skipSpace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
                index += 1
                return .array(values)
            }
            while true {
                skipSpace()
                values.append(try value(depth: depth + 1))
                skipSpace()
                guard index < bytes.count else { throw Self.invalid("the text ends inside an array") }
                if bytes[index] == UInt8(ascii: ",") {
                    index += 1
                    continue
                }
                try expect(UInt8(ascii: "]"))
                return .array(values)
            }
        }

        mutating func string() throws(PartitionError) -> String {
            index += 1
            var output: [UInt8] = []
            while true {
                guard index < bytes.count else { throw Self.invalid("the text ends inside a string") }
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: output, as: UTF8.self) else { throw Self.invalid("a string is not UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw Self.invalid("the text ends inside an escape") }
                    let escaped = bytes[index]
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): output.append(escaped)
                    case UInt8(ascii: "b"): output.append(0x08)
                    case UInt8(ascii: "f"): output.append(0x0C)
                    case UInt8(ascii: "n"): output.append(0x0A)
                    case UInt8(ascii: "r"): output.append(0x0D)
                    case UInt8(ascii: "t"): output.append(0x09)
                    case UInt8(ascii: "u"): output += Array(String(try unicodeEscape()).utf8)
                    default: throw Self.invalid("an unknown escape at byte \(index - 1)")
                    }
                case 0..<0x20: throw Self.invalid("a control character inside a string")
                default: output.append(byte)
                }
            }
        }

        /// `\uXXXX`, a surrogate pair as two of them.
        mutating func unicodeEscape() throws(PartitionError) -> Character {
            let first = try hex4()
            var scalar: UInt32 = first
            if (0xD800..<0xDC00).contains(first) {
                guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw Self.invalid("an unpaired surrogate")
                }
                index += 2
                let second = try hex4()
                guard (0xDC00..<0xE000).contains(second) else { throw Self.invalid("an unpaired surrogate") }
                scalar = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw Self.invalid("an unpaired surrogate") }
            return Character(unicode)
        }

        mutating func hex4() throws(PartitionError) -> UInt32 {
            guard bytes.count - index >= 4 else { throw Self.invalid("a short \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[index]
                index += 1
                let digit: UInt32
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
                default: throw Self.invalid("a bad \\u escape")
                }
                value = value << 4 | digit
            }
            return value
        }

        /// Integers stay exact (Int64, else UInt64); anything with a fraction or an exponent, or
        /// too large, is a Double.
        mutating func number() throws(PartitionError) -> JSONValue {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) else {
                throw Self.invalid("a number without digits at byte \(start)")
            }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
            } else {
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            }
            var integral = true
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                integral = false
                index += 1
                let digits = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard index > digits else { throw Self.invalid("a fraction without digits at byte \(start)") }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                integral = false
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                let digits = index
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard index > digits else { throw Self.invalid("an exponent without digits at byte \(start)") }
            }
            let text = String(decoding: bytes[start..<index], as: UTF8.self)
            if integral {
                if let number = Int64(text) { return .integer(number) }
                if let number = UInt64(text) { return .unsigned(number) }
            }
            guard let number = Double(text), number.isFinite else { throw Self.invalid("a number out of range at byte \(start)") }
            return .number(number)
        }
    }
}
