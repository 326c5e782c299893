/// Codable straight to and from `JSONValue`, without Foundation's JSONEncoder and JSONDecoder: a
/// typed value on the wire is built as the tree the frame serialises, and a received tree is read
/// as the typed value, with no text in between. The agent runs every request through this, so it
/// is a good part of its time per request in a slow guest.
///
/// Semantics follow Foundation's coders where the wire types meet them: nil optionals are left
/// out, integers must fit their type exactly, non-finite numbers are refused, a value that
/// encodes nothing is `{}`. Errors are `EncodingError` and `DecodingError` with the coding path.
enum JSONValueCoding {
    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        if let value = value as? JSONValue { return value }
        let node = EncodingNode()
        try value.encode(to: NodeEncoder(node: node, codingPath: []))
        return node.value
    }

    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        try decodeValue(type, from: value, codingPath: [])
    }

    static func decodeValue<T: Decodable>(_ type: T.Type, from value: JSONValue, codingPath: [any CodingKey]) throws -> T {
        if T.self == JSONValue.self, let value = value as? T { return value }
        return try T(from: NodeDecoder(value: value, codingPath: codingPath))
    }

    /// An integer as the parser would read it back: signed when it fits.
    static func integer<I: BinaryInteger>(_ value: I) -> JSONValue {
        if let signed = Int64(exactly: value) { return .integer(signed) }
        return .unsigned(UInt64(value))
    }
}

/// A key for array positions and `superEncoder`.
private struct IndexKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = String(intValue)
        self.intValue = intValue
    }
}

// MARK: Encoding

/// What one encoder or container writes into: a scalar, fields, or items.
private final class EncodingNode {
    var scalar: JSONValue?
    var fields: [String: EncodingNode]?
    var items: [EncodingNode]?

    var value: JSONValue {
        if let fields { return .object(fields.mapValues(\.value)) }
        if let items { return .array(items.map(\.value)) }
        return scalar ?? .object([:])
    }

    static func scalar(_ value: JSONValue) -> EncodingNode {
        let node = EncodingNode()
        node.scalar = value
        return node
    }
}

private func encodedNode<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> EncodingNode {
    if let value = value as? JSONValue { return .scalar(value) }
    let node = EncodingNode()
    try value.encode(to: NodeEncoder(node: node, codingPath: codingPath))
    return node
}

private func finite(_ value: Double, _ codingPath: [any CodingKey]) throws -> JSONValue {
    guard value.isFinite else {
        throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "A number that is not finite."))
    }
    return .number(value)
}

private struct NodeEncoder: Encoder {
    let node: EncodingNode
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if node.fields == nil { node.fields = [:] }
        return KeyedEncodingContainer(KeyedNodeEncoder<Key>(node: node, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if node.items == nil { node.items = [] }
        return UnkeyedNodeEncoder(node: node, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleNodeEncoder(node: node, codingPath: codingPath)
    }
}

private struct KeyedNodeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    var codingPath: [any CodingKey]

    private func set(_ value: JSONValue, _ key: Key) { node.fields![key.stringValue] = .scalar(value) }

    mutating func encodeNil(forKey key: Key) throws { set(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try finite(value, codingPath + [key]), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try finite(Double(value), codingPath + [key]), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(JSONValueCoding.integer(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.fields![key.stringValue] = try encodedNode(value, codingPath: codingPath + [key])
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        node.fields![key.stringValue] = child
        return NodeEncoder(node: child, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = EncodingNode()
        node.fields![key.stringValue] = child
        return NodeEncoder(node: child, codingPath: codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { superEncoder(named: IndexKey(stringValue: "super")) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { superEncoder(named: key) }

    private func superEncoder(named key: any CodingKey) -> any Encoder {
        let child = EncodingNode()
        node.fields![key.stringValue] = child
        return NodeEncoder(node: child, codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeEncoder: UnkeyedEncodingContainer {
    let node: EncodingNode
    var codingPath: [any CodingKey]
    var count: Int { node.items!.count }

    private var nextPath: [any CodingKey] { codingPath + [IndexKey(intValue: count)] }
    private func append(_ value: JSONValue) { node.items!.append(.scalar(value)) }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try finite(value, nextPath)) }
    mutating func encode(_ value: Float) throws { append(try finite(Double(value), nextPath)) }
    mutating func encode(_ value: Int) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int8) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int16) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int32) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int64) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt8) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt16) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt32) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt64) throws { append(JSONValueCoding.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        node.items!.append(try encodedNode(value, codingPath: nextPath))
    }

    /// An encoder for a new element at the end (its path taken before it counts).
    private func appendedChild() -> NodeEncoder {
        let child = EncodingNode()
        let path = nextPath
        node.items!.append(child)
        return NodeEncoder(node: child, codingPath: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        appendedChild().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { appendedChild().unkeyedContainer() }

    mutating func superEncoder() -> any Encoder { appendedChild() }
}

private struct SingleNodeEncoder: SingleValueEncodingContainer {
    let node: EncodingNode
    var codingPath: [any CodingKey]

    private func set(_ value: JSONValue) { node.scalar = value }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try finite(value, codingPath)) }
    mutating func encode(_ value: Float) throws { set(try finite(Double(value), codingPath)) }
    mutating func encode(_ value: Int) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int8) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int16) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int32) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: Int64) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt8) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt16) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt32) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode(_ value: UInt64) throws { set(JSONValueCoding.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        let child = try encodedNode(value, codingPath: codingPath)
        node.scalar = child.scalar
        node.fields = child.fields
        node.items = child.items
    }
}

// MARK: Decoding

private func mismatch<T>(_ type: T.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) -> DecodingError {
    DecodingError.typeMismatch(type, .init(codingPath: codingPath, debugDescription: "Found \(value.kindName)."))
}

private func decodeBool(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> Bool {
    guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, codingPath) }
    return flag
}

private func decodeString(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> String {
    guard case .string(let text) = value else { throw mismatch(String.self, value, codingPath) }
    return text
}

private func decodeDouble(_ value: JSONValue, _ codingPath: [any CodingKey]) throws -> Double {
    switch value {
    case .number(let number): return number
    case .integer(let number): return Double(number)
    case .unsigned(let number): return Double(number)
    default: throw mismatch(Double.self, value, codingPath)
    }
}

/// An integer that fits `I` exactly; a number with a fraction or out of range does not.
private func decodeInteger<I: FixedWidthInteger>(_ type: I.Type, _ value: JSONValue, _ codingPath: [any CodingKey]) throws -> I {
    let result: I?
    switch value {
    case .integer(let number): result = I(exactly: number)
    case .unsigned(let number): result = I(exactly: number)
    case .number(let number): result = I(exactly: number)
    default: throw mismatch(type, value, codingPath)
    }
    guard let result else {
        throw DecodingError.dataCorrupted(.init(codingPath: codingPath, debugDescription: "The number does not fit \(type)."))
    }
    return result
}

private struct NodeDecoder: Decoder {
    let value: JSONValue
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let fields) = value else { throw mismatch([String: JSONValue].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedNodeDecoder<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw mismatch([JSONValue].self, value, codingPath) }
        return UnkeyedNodeDecoder(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleNodeDecoder(value: value, codingPath: codingPath)
    }
}

private struct KeyedNodeDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let fields: [String: JSONValue]
    var codingPath: [any CodingKey]
    var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }

    private func field(_ key: Key) throws -> JSONValue {
        guard let value = fields[key.stringValue] else {
            throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "No value for \(key.stringValue)."))
        }
        return value
    }

    func decodeNil(forKey key: Key) throws -> Bool { try field(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try decodeBool(try field(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try decodeString(try field(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try decodeDouble(try field(key), codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try decodeDouble(try field(key), codingPath + [key])) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try decodeInteger(type, try field(key), codingPath + [key]) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try JSONValueCoding.decodeValue(type, from: try field(key), codingPath: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try NodeDecoder(value: try field(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try NodeDecoder(value: try field(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder {
        NodeDecoder(value: fields["super"] ?? .null, codingPath: codingPath + [IndexKey(stringValue: "super")])
    }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        NodeDecoder(value: fields[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedNodeDecoder: UnkeyedDecodingContainer {
    let items: [JSONValue]
    var codingPath: [any CodingKey]
    var currentIndex = 0
    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    private var path: [any CodingKey] { codingPath + [IndexKey(intValue: currentIndex)] }

    private mutating func next() throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(JSONValue.self, .init(codingPath: path, debugDescription: "The array has no more items."))
        }
        defer { currentIndex += 1 }
        return items[currentIndex]
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let p = path; return try decodeBool(try next(), p) }
    mutating func decode(_ type: String.Type) throws -> String { let p = path; return try decodeString(try next(), p) }
    mutating func decode(_ type: Double.Type) throws -> Double { let p = path; return try decodeDouble(try next(), p) }
    mutating func decode(_ type: Float.Type) throws -> Float { let p = path; return Float(try decodeDouble(try next(), p)) }
    mutating func decode(_ type: Int.Type) throws -> Int { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { let p = path; return try decodeInteger(type, try next(), p) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let p = path
        return try JSONValueCoding.decodeValue(type, from: try next(), codingPath: p)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let p = path
        return try NodeDecoder(value: try next(), codingPath: p).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let p = path
        return try NodeDecoder(value: try next(), codingPath: p).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let p = path
        return NodeDecoder(value: try next(), codingPath: p)
    }
}

private struct SingleNodeDecoder: SingleValueDecodingContainer {
    let value: JSONValue
    var codingPath: [any CodingKey]

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeBool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try decodeString(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try decodeDouble(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try decodeDouble(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type, value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type, value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try JSONValueCoding.decodeValue(type, from: value, codingPath: codingPath)
    }
}

extension JSONValue {
    /// What kind of value this is, for a decoding error.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .integer, .unsigned, .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}
