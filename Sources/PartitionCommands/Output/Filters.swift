import PartitionCore
import PartitionModel

/// `--filter state=running --filter kind=lpar`: all must match.
///
/// A value matches a field when it equals, ignoring case, the field's JSON value (`kind=LPAR`,
/// `mem=536870912`, `autostart=true`, `cap=null`) or its text form (`mem=512MiB`, `autostart=yes`, `cap=-`).
struct Filters {
    var conditions: [(String, String)]

    var isEmpty: Bool { conditions.isEmpty }

    static func parse(_ specs: [String]) throws(PartitionError) -> Filters {
        var conditions: [(String, String)] = []
        for spec in specs {
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else {
                throw PartitionError(.invalidArgument, "--filter '\(spec)' is not of the form field=value.")
            }
            let key = String(spec[..<equals])
            try PartitionRecord.checkField(key, option: "--filter")
            conditions.append((key, String(spec[spec.index(after: equals)...])))
        }
        return Filters(conditions: conditions)
    }

    func matches(_ record: PartitionRecord) -> Bool {
        conditions.allSatisfy { key, given in
            let wanted = given.lowercased()
            let value = record.field(key) ?? .none
            if Self.jsonText(value).lowercased() == wanted || value.text.lowercased() == wanted { return true }
            if case .bytes(let bytes) = value, let size = try? ByteSize(parsing: given) { return size.bytes == bytes }
            return false
        }
    }

    /// The value as JSON writes it, strings without their quotes.
    static func jsonText(_ value: FieldValue) -> String {
        switch value {
        case .string(let text): return text
        case .int(let number): return String(number)
        case .bytes(let bytes): return String(bytes)
        case .number(let number): return FieldValue.number(number).text
        case .bool(let flag): return flag ? "true" : "false"
        case .none: return "null"
        }
    }

    /// `tree --filter`: the partitions that match and their ancestors; the root always stays, so
    /// that the tree keeps its shape (an object) when nothing matches.
    func pruned(_ root: PartitionRecord) -> PartitionRecord {
        var copy = root
        copy.children = root.children.compactMap(kept)
        return copy
    }

    private func kept(_ record: PartitionRecord) -> PartitionRecord? {
        var copy = record
        copy.children = record.children.compactMap(kept)
        return matches(record) || !copy.children.isEmpty ? copy : nil
    }
}
