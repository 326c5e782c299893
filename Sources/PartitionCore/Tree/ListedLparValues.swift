import AgentProtocol
import PartitionModel

/// The few values of a stored LPAR profile that `tree` and `query` show, read with partctl's own
/// JSON parser: Foundation's JSONDecoder took most of `tree`'s time over a thousand domains.
/// A value that is missing or malformed is nil (the field is then null); commands that change
/// a partition decode and validate the whole profile.
struct ListedLparValues: Equatable {
    var minMemory, desiredMemory, maxMemory: UInt64?
    var minProcs, desiredProcs, maxProcs: Int?
    var weight: Int?
    var cap: Double?
    var autostart: Bool?
    var image: String?

    init?(json: String) {
        // Only the top-level "lpar" member is parsed; the provenance and settings around it are
        // most of the text and are skipped without building values.
        guard let member = Self.topLevelMember("lpar", of: Array(json.utf8)),
              case .object(let lpar)? = try? JSONText.parse(member) else { return nil }
        let memory = lpar["memory"]?.objectValue
        minMemory = Self.bytes(memory?["min"])
        desiredMemory = Self.bytes(memory?["desired"])
        maxMemory = Self.bytes(memory?["max"])
        let processors = lpar["processors"]?.objectValue
        minProcs = Self.int(processors?["min"])
        desiredProcs = Self.int(processors?["desired"])
        maxProcs = Self.int(processors?["max"])
        weight = Self.int(lpar["weight"])
        cap = Self.number(lpar["cap"])
        if case .bool(let flag)? = lpar["autostart"] { autostart = flag }
        if case .string(let name)? = lpar["image"] { image = name }
    }

    static func bytes(_ value: JSONValue?) -> UInt64? {
        guard case .string(let text)? = value else { return nil }
        return try? ByteSize(parsing: text).bytes
    }

    static func int(_ value: JSONValue?) -> Int? {
        switch value {
        case .integer(let number)?: return Int(exactly: number)
        case .unsigned(let number)?: return Int(exactly: number)
        default: return nil
        }
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .number(let number)?: return number
        case .integer(let number)?: return Double(number)
        case .unsigned(let number)?: return Double(number)
        default: return nil
        }
    }

    /// The bytes of the value of `key` in a JSON object's top level, found by scanning (strings
    /// and nesting respected, nothing decoded); nil if absent. The slice is then parsed strictly.
    static func topLevelMember(_ key: String, of bytes: [UInt8]) -> [UInt8]? {
        let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
        let wanted = Array(key.utf8)
        var depth = 0
        var index = 0
        var valueStart: Int?
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote {
                let start = index + 1
                index += 1
                while index < bytes.count && bytes[index] != quote {
                    index += bytes[index] == backslash ? 2 : 1
                }
                guard index < bytes.count else { return nil }
                if depth == 1, valueStart == nil, bytes[start..<index].elementsEqual(wanted) {
                    var colon = index + 1
                    while colon < bytes.count, bytes[colon] == UInt8(ascii: " ") { colon += 1 }
                    if colon < bytes.count, bytes[colon] == UInt8(ascii: ":") {
                        valueStart = colon + 1
                        index = colon
                    }
                }
            } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                depth += 1
            } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                depth -= 1
                if let start = valueStart, depth == 1 { return Array(bytes[start...index]) }
                if depth == 0 { return valueStart.map { Array(bytes[$0..<index]) } }
            } else if depth == 1, let start = valueStart, byte == UInt8(ascii: ",") {
                return Array(bytes[start..<index])
            }
            index += 1
        }
        return nil
    }
}
