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

    init?(json: String) {
        guard case .object(let root)? = try? JSONText.parse(Array(json.utf8)),
              case .object(let lpar)? = root["lpar"] else { return nil }
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
}
