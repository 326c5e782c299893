import PartitionModel

/// What the channel carries while a session runs: after the agent accepted `wpar.attach`, until
/// the session ends, frames are session frames instead of requests and replies.
///
///     host → agent   {"session":"input","data":"<base64>"}   bytes for the command or console
///                    {"session":"eof"}                       no more input (closes the command's stdin)
///                    {"session":"detach"}                    leave; a login's command is left to end by itself
///     agent → host   {"session":"output","fd":1,"data":"…"}  what the command wrote (fd 1 or 2)
///                    {"session":"exit","status":0}           the command ended (128 + signal when killed)
///                    {"session":"closed","reason":"…"}       the console ended (WPAR stopped, detached)
///
/// Each frame holds at most `AgentWire.sessionChunk` bytes of data, so both sides stay within the
/// frame limit; decoding is as strict as for requests and replies.
public enum AgentSessionFrame: Sendable, Hashable {
    case input([UInt8])
    case endOfInput
    case detach
    case output(fd: Int, [UInt8])
    case exit(status: Int32)
    case closed(reason: String)
}

extension AgentCodec {
    public static func encode(_ frame: AgentSessionFrame) throws(PartitionError) -> [UInt8] {
        switch frame {
        case .input(let bytes):
            return try self.frame(.object(["session": .string("input"), "data": .string(Base64.encode(bytes))]))
        case .endOfInput:
            return try self.frame(.object(["session": .string("eof")]))
        case .detach:
            return try self.frame(.object(["session": .string("detach")]))
        case .output(let fd, let bytes):
            return try self.frame(.object(["session": .string("output"), "fd": .integer(Int64(fd)),
                                           "data": .string(Base64.encode(bytes))]))
        case .exit(let status):
            return try self.frame(.object(["session": .string("exit"), "status": .integer(Int64(status))]))
        case .closed(let reason):
            return try self.frame(.object(["session": .string("closed"), "reason": .string(reason)]))
        }
    }

    public static func decodeSessionFrame(_ frame: [UInt8]) throws(PartitionError) -> AgentSessionFrame {
        let fields = try object(frame, what: "session frame", allowed: ["session", "data", "fd", "status", "reason"])
        guard case .string(let kind)? = fields["session"] else {
            throw PartitionError(.agent, "The session frame does not say what it is.")
        }
        func only(_ keys: Set<String>) throws(PartitionError) {
            if let extra = fields.keys.sorted().first(where: { !keys.contains($0) && $0 != "session" }) {
                throw PartitionError(.agent, "The \(kind) session frame has a field it does not take: \(quoted(extra)).")
            }
        }
        func data() throws(PartitionError) -> [UInt8] {
            guard case .string(let text)? = fields["data"], let bytes = Base64.decode(text) else {
                throw PartitionError(.agent, "The \(kind) session frame has no valid base64 data.")
            }
            guard bytes.count <= AgentWire.sessionChunk else {
                throw PartitionError(.agent, "The \(kind) session frame carries more than \(AgentWire.sessionChunk) bytes.")
            }
            return bytes
        }
        switch kind {
        case "input":
            try only(["data"])
            return .input(try data())
        case "eof":
            try only([])
            return .endOfInput
        case "detach":
            try only([])
            return .detach
        case "output":
            try only(["data", "fd"])
            guard case .integer(let fd)? = fields["fd"], fd == 1 || fd == 2 else {
                throw PartitionError(.agent, "The output session frame names no output (fd 1 or 2).")
            }
            return .output(fd: Int(fd), try data())
        case "exit":
            try only(["status"])
            guard case .integer(let status)? = fields["status"], status >= 0, status <= 255 else {
                throw PartitionError(.agent, "The exit session frame has no valid status (0 to 255).")
            }
            return .exit(status: Int32(status))
        case "closed":
            try only(["reason"])
            guard case .string(let reason)? = fields["reason"] else {
                throw PartitionError(.agent, "The closed session frame gives no reason.")
            }
            return .closed(reason: String(reason.prefix(200)))
        default:
            throw PartitionError(.agent, "The session frame kind \(quoted(kind)) is not part of protocol version \(AgentWire.protocolVersion).")
        }
    }
}

/// The host's end of a running session, handed out by `AgentConversation.session`: frames out,
/// frames in with a timeout, memory bounded by the frame limit.
public final class AgentSession {
    private let send: AgentConversation.Send
    private let receive: AgentConversation.Receive
    private var reader: AgentFrameReader

    init(send: @escaping AgentConversation.Send, receive: @escaping AgentConversation.Receive, reader: AgentFrameReader) {
        self.send = send
        self.receive = receive
        self.reader = reader
    }

    public func send(_ frame: AgentSessionFrame, timeout: Duration = .seconds(30)) throws(PartitionError) {
        try send(try AgentCodec.encode(frame), timeout)
    }

    /// The next frame from the agent, or nil when none arrived within `timeout`. Throws
    /// `.unavailable` when the channel closed, `.agent` for a frame that breaks the protocol.
    public func next(timeout: Duration) throws(PartitionError) -> AgentSessionFrame? {
        while true {
            switch reader.next() {
            case .oversized?:
                throw PartitionError(.agent, "The agent sent a session frame longer than \(AgentWire.frameLimit) bytes.")
            case .frame(let bytes)?:
                return try AgentCodec.decodeSessionFrame(bytes)
            case nil:
                let bytes: [UInt8]
                do { bytes = try receive(65_536, timeout) } catch where error.code == .timeout { return nil }
                guard !bytes.isEmpty else { throw PartitionError(.unavailable, "The agent's channel was closed.") }
                reader.append(bytes)
            }
        }
    }
}
