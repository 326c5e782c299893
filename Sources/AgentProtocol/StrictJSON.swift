import PartitionModel

/// Strict conversion between typed values and `JSONValue`: a value the peer sent must decode with the
/// right types and carry no field the type does not know. Both sides treat what they receive as
/// untrusted; a mismatch is a `.agent` error naming what was wrong, never a crash.
public enum StrictJSON {
    /// Decodes `type` from `value`, refusing wrong types and unknown fields at any depth.
    public static func decode<T: Codable>(_ type: T.Type, from value: JSONValue, what: String) throws(PartitionError) -> T {
        let decoded: T
        do {
            decoded = try JSONValueCoding.decode(T.self, from: value)
        } catch {
            throw PartitionError(.agent, "Cannot read the \(what): \(describe(error)).")
        }
        // Fields the type does not know vanish when decoding; encoding the result back shows which.
        let known = try encode(decoded, what: what)
        if let unknown = firstUnknownField(in: value, comparedWith: known, path: "") {
            throw PartitionError(.agent, "The \(what) has a field this version does not know: \(unknown).")
        }
        return decoded
    }

    /// `value` as JSON.
    public static func encode<T: Encodable>(_ value: T, what: String) throws(PartitionError) -> JSONValue {
        do { return try JSONValueCoding.encode(value) } catch {
            throw PartitionError(.internal, "The \(what) cannot be encoded as JSON (\(describe(error))).")
        }
    }

    /// The path of the first object key in `received` that `known` lacks. A key whose value is null is
    /// tolerated, since encoding leaves out nil optionals.
    static func firstUnknownField(in received: JSONValue, comparedWith known: JSONValue, path: String) -> String? {
        switch (received, known) {
        case (.object(let fields), .object(let knownFields)):
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                let fieldPath = path.isEmpty ? key : "\(path).\(key)"
                guard let knownValue = knownFields[key] else {
                    if value == .null { continue }
                    return fieldPath
                }
                if let unknown = firstUnknownField(in: value, comparedWith: knownValue, path: fieldPath) { return unknown }
            }
            return nil
        case (.array(let items), .array(let knownItems)) where items.count == knownItems.count:
            for (index, pair) in zip(items, knownItems).enumerated() {
                if let unknown = firstUnknownField(in: pair.0, comparedWith: pair.1, path: "\(path)[\(index)]") { return unknown }
            }
            return nil
        default:
            return nil
        }
    }

    /// A short account of a decoding error: the coding path and what went wrong, without the
    /// platform's long debug text.
    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "not valid JSON" }
        func at(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return path.isEmpty ? "at the top" : "at \(path)"
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(at(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(at(context)): missing \(type)"
        case .keyNotFound(let key, let context): return "\(at(context)): missing field \(key.stringValue)"
        case .dataCorrupted(let context): return "\(at(context)): invalid value"
        @unknown default: return "invalid"
        }
    }
}
