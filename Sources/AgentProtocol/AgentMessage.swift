import PartitionModel

/// A request frame: `{"v": 2, "id": 7, "op": "wpar.activate", "args": {"name": "web"}}`.
///
/// Every request names the protocol version it is written in, so an agent of another version
/// refuses it before acting: a host never needs a hello round trip before its first request. A
/// frame without `v` is version 1, which had no such field (and refuses frames that have it).
/// Ids start at 1; 0 is reserved for the reply to a frame whose id could not be read.
public struct AgentRequest: Sendable, Hashable {
    public var id: UInt64
    public var operation: AgentOperation
    /// A JSON object, decoded by the operation's `Arguments`.
    public var arguments: JSONValue
    /// The protocol version the sender speaks.
    public var version: Int

    public init(id: UInt64, operation: AgentOperation, arguments: JSONValue, version: Int = AgentWire.protocolVersion) {
        self.id = id
        self.operation = operation
        self.arguments = arguments
        self.version = version
    }

    /// The request for `call` with typed arguments.
    public init<Call: AgentCall>(id: UInt64, _ call: Call.Type, _ arguments: Call.Arguments) throws(PartitionError) {
        self.init(id: id, operation: Call.operation, arguments: try StrictJSON.encode(arguments, what: "arguments of \(Call.operation.rawValue)"))
    }

    /// The arguments as `call` expects them, strictly.
    public func arguments<Call: AgentCall>(of call: Call.Type) throws(PartitionError) -> Call.Arguments {
        try StrictJSON.decode(Call.Arguments.self, from: arguments, what: "arguments of \(operation.rawValue)")
    }
}

/// A reply frame: `{"id": 7, "ok": true, "result": {...}}` or
/// `{"id": 7, "ok": false, "error": {"code": "not-found", "message": "The WPAR is not defined."}}`.
public struct AgentReply: Sendable, Hashable {
    public enum Outcome: Sendable, Hashable {
        case success(JSONValue)
        case failure(AgentFailure)
    }

    public var id: UInt64
    public var outcome: Outcome

    public init(id: UInt64, outcome: Outcome) {
        self.id = id
        self.outcome = outcome
    }

    /// The successful result as `call` defines it, strictly; a failure is thrown as the
    /// `PartitionError` the agent reported.
    public func result<Call: AgentCall>(of call: Call.Type) throws(PartitionError) -> Call.Result {
        switch outcome {
        case .success(let value): return try StrictJSON.decode(Call.Result.self, from: value, what: "reply to \(Call.operation.rawValue)")
        case .failure(let failure): throw failure.partitionError
        }
    }
}

/// An error reported over the wire: a `PartitionError` code and its sentence, plus the context the
/// engine attached.
public struct AgentFailure: Codable, Sendable, Hashable {
    public var code: String
    public var message: String
    public var partition: String?
    public var operation: String?

    public init(code: String, message: String, partition: String? = nil, operation: String? = nil) {
        self.code = code
        self.message = message
        self.partition = partition
        self.operation = operation
    }

    public init(_ error: PartitionError) {
        self.init(code: error.code.description, message: error.message, partition: error.partition, operation: error.operation)
    }

    /// The error as the host throws it. A code this side does not know becomes `.agent`, and the
    /// message is cut to a sane length so an untrusted agent cannot flood the user's terminal.
    public var partitionError: PartitionError {
        let known = PartitionError.Code(name: code) ?? .agent
        return PartitionError(known, String(message.prefix(AgentFailure.messageLimit)),
                              partition: partition.map { String($0.prefix(64)) },
                              operation: operation.map { String($0.prefix(64)) })
    }

    static let messageLimit = 1000
}

/// Turns messages into frames and frames into messages. Decoding is strict: a frame must be one JSON
/// object with exactly the documented fields, of the documented types, naming a known operation.
public enum AgentCodec {
    public static func encode(_ request: AgentRequest) throws(PartitionError) -> [UInt8] {
        var fields: [String: JSONValue] = ["id": .unsigned(request.id), "op": .string(request.operation.rawValue), "args": request.arguments]
        if request.version != 1 { fields["v"] = .integer(Int64(request.version)) }
        return try frame(.object(fields))
    }

    public static func encode(_ reply: AgentReply) throws(PartitionError) -> [UInt8] {
        switch reply.outcome {
        case .success(let result):
            return try frame(.object(["id": .unsigned(reply.id), "ok": .bool(true), "result": result]))
        case .failure(let failure):
            return try frame(.object(["id": .unsigned(reply.id), "ok": .bool(false),
                                      "error": StrictJSON.encode(failure, what: "error")]))
        }
    }

    public static func decodeRequest(_ frame: [UInt8]) throws(PartitionError) -> AgentRequest {
        let fields = try object(frame, what: "request", allowed: ["v", "id", "op", "args"])
        let id = try identifier(fields["id"], what: "request")
        let version: Int
        switch fields["v"] {
        case nil: version = 1
        case .integer(let number)? where number > 0 && number < 1000: version = Int(number)
        case .unsigned(let number)? where number > 0 && number < 1000: version = Int(number)
        default: throw PartitionError(.agent, "The request's protocol version v must be a small positive integer.")
        }
        guard case .string(let name)? = fields["op"] else {
            throw PartitionError(.agent, "The request has no operation name.")
        }
        guard let operation = AgentOperation(rawValue: name) else {
            throw PartitionError(.unsupported, "The operation \(quoted(name)) is not part of protocol version \(AgentWire.protocolVersion).")
        }
        guard let arguments = fields["args"], arguments.objectValue != nil else {
            throw PartitionError(.agent, "The request's args must be a JSON object.")
        }
        return AgentRequest(id: id, operation: operation, arguments: arguments, version: version)
    }

    public static func decodeReply(_ frame: [UInt8]) throws(PartitionError) -> AgentReply {
        let fields = try object(frame, what: "reply", allowed: ["id", "ok", "result", "error"])
        let id = try identifier(fields["id"], what: "reply")
        switch (fields["ok"], fields["result"], fields["error"]) {
        case (.bool(true)?, let result?, nil):
            return AgentReply(id: id, outcome: .success(result))
        case (.bool(false)?, nil, let error?):
            return AgentReply(id: id, outcome: .failure(try StrictJSON.decode(AgentFailure.self, from: error, what: "error in a reply")))
        default:
            throw PartitionError(.agent, "The reply must carry ok: true with a result, or ok: false with an error.")
        }
    }

    /// The id of a frame that is a JSON object with a valid id, for answering a frame that failed
    /// later checks under its own id.
    public static func identifierIfAny(_ frame: [UInt8]) -> UInt64? {
        guard let fields = try? object(frame, what: "request", allowed: nil) else { return nil }
        return try? identifier(fields["id"], what: "request")
    }

    static func frame(_ value: JSONValue) throws(PartitionError) -> [UInt8] {
        let text = try JSONText.serialize(value)
        guard text.count <= AgentWire.frameLimit else {
            throw PartitionError(.outOfRange, "A frame of \(text.count) bytes exceeds the limit of \(AgentWire.frameLimit) bytes.")
        }
        // Control characters are escaped, so the newline can only be the terminator.
        return text + [AgentWire.newline]
    }

    static func object(_ frame: [UInt8], what: String, allowed: Set<String>?) throws(PartitionError) -> [String: JSONValue] {
        guard frame.count <= AgentWire.frameLimit else {
            throw PartitionError(.agent, "The \(what) is longer than \(AgentWire.frameLimit) bytes.")
        }
        let value: JSONValue
        do { value = try JSONText.parse(frame) } catch {
            throw PartitionError(.agent, "The \(what) is not valid JSON.")
        }
        guard case .object(let fields) = value else {
            throw PartitionError(.agent, "The \(what) is not a JSON object.")
        }
        guard value.depth <= AgentWire.maximumDepth else {
            throw PartitionError(.agent, "The \(what) nests deeper than \(AgentWire.maximumDepth) levels.")
        }
        if let allowed, let unknown = fields.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw PartitionError(.agent, "The \(what) has a field this version does not know: \(quoted(unknown)).")
        }
        return fields
    }

    static func identifier(_ value: JSONValue?, what: String) throws(PartitionError) -> UInt64 {
        switch value {
        case .integer(let id)? where id >= 0: return UInt64(id)
        case .unsigned(let id)?: return id
        default: throw PartitionError(.agent, "The \(what) has no valid id (a non-negative integer).")
        }
    }

    /// A name from the wire, shortened and quoted for a message.
    static func quoted(_ text: String) -> String {
        "\"" + String(text.prefix(40).filter { !$0.isNewline }) + (text.count > 40 ? "…" : "") + "\""
    }
}
