import PartitionCore
import PartitionModel

/// Writes the stable JSON interface of DESIGN §2. Hand-rolled so that keys keep their order
/// (`name`, `path`, `kind`, `state` first) and 1000 partitions print in a few milliseconds.
///
/// Every object has the same keys, whatever its kind: what does not apply or is not known is
/// null (docs/output.md). `only` (from `-F`) restricts an object to the fields named there.
enum JSONOutput {
    static func record(_ record: PartitionRecord, children: Bool, only: [String]? = nil, into out: inout String) {
        out += "{"
        if let only {
            for (index, key) in only.enumerated() { pair(key, record.field(key) ?? .none, into: &out, first: index == 0) }
        } else {
            pair("name", .string(record.name), into: &out, first: true)
            pair("path", .string(record.path), into: &out)
            pair("kind", .string(record.kind.rawValue), into: &out)
            pair("state", .string(record.state.rawValue), into: &out)
            pair("type", record.type.map(FieldValue.string) ?? .none, into: &out)
            pair("managed", .bool(record.managed), into: &out)
            pair("system", record.system.map(FieldValue.string) ?? .none, into: &out)
            // Backends append their fields mostly in this order: look at the next one first.
            var next = 0
            for key in PartitionRecord.attributeKeys {
                var value = FieldValue.none
                if next < record.fields.count, record.fields[next].0 == key {
                    value = record.fields[next].1
                    next += 1
                } else if let index = record.fields.firstIndex(where: { $0.0 == key }) {
                    value = record.fields[index].1
                    next = index + 1
                }
                pair(key, value, into: &out)
            }
            pair("note", record.note.map(FieldValue.string) ?? .none, into: &out)
        }
        if children {
            out += ",\"children\":["
            for (index, child) in record.children.enumerated() {
                if index > 0 { out += "," }
                self.record(child, children: true, only: only, into: &out)
            }
            out += "]"
        }
        out += "}"
    }

    /// A list is always an array, also when it is empty.
    static func records(_ records: [PartitionRecord], only: [String]? = nil) -> String {
        var out = "["
        for (index, record) in records.enumerated() {
            if index > 0 { out += "," }
            self.record(record, children: false, only: only, into: &out)
        }
        out += "]"
        return out
    }

    /// One partition is always an object.
    static func object(_ record: PartitionRecord, only: [String]? = nil) -> String {
        var out = ""
        self.record(record, children: false, only: only, into: &out)
        return out
    }

    static func tree(_ root: PartitionRecord, only: [String]? = nil) -> String {
        var out = ""
        record(root, children: true, only: only, into: &out)
        return out
    }

    static func error(_ error: PartitionError) -> String {
        var out = "{\"error\":{"
        pair("code", .string(error.code.description), into: &out, first: true)
        pair("message", .string(error.description), into: &out)
        if let partition = error.partition { pair("partition", .string(partition), into: &out) }
        if let operation = error.operation { pair("operation", .string(operation), into: &out) }
        out += "}}"
        return out
    }

    static func pair(_ key: String, _ value: FieldValue, into out: inout String, first: Bool = false) {
        if !first { out += "," }
        string(key, into: &out)
        out += ":"
        switch value {
        case .string(let text): string(text, into: &out)
        case .int(let number): out += String(number)
        case .bytes(let bytes): out += String(bytes)
        case .number(let number): out += number.isFinite ? FieldValue.number(number).text : "null"
        case .bool(let flag): out += flag ? "true" : "false"
        case .none: out += "null"
        }
    }

    static func string(_ text: String, into out: inout String) {
        // Most names, paths and values need no escaping: append them whole.
        if !text.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            out += "\""
            out += text
            out += "\""
            return
        }
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
