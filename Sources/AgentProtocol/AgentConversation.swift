import PartitionModel
import Synchronization

/// The host's side of the protocol over any byte transport (a libvirt channel stream, a socket):
/// numbered requests, each with its own deadline, and replies read frame by frame with bounded memory.
///
/// The agent is untrusted: a reply that does not decode, an oversized frame, a reply for another id
/// or a closed channel each end the call with a clean `PartitionError`. After a timeout or a bad frame
/// the conversation resynchronises (`sync` with a fresh random token) before the next call, so stale
/// bytes from the failed call are never taken for a later reply. Calls are serialised.
public final class AgentConversation: Sendable {
    /// Sends all bytes or throws (`.timeout` after the duration).
    public typealias Send = @Sendable ([UInt8], Duration) throws(PartitionError) -> Void
    /// Receives up to `max` bytes, at least one; an empty array means the channel was closed.
    public typealias Receive = @Sendable (_ max: Int, Duration) throws(PartitionError) -> [UInt8]

    private struct State: Sendable {
        var reader = AgentFrameReader()
        /// Random start, so that replies left over from an earlier session rarely share an id.
        var nextID = UInt64.random(in: 1...(1 << 40))
        var synchronised = false
        /// What the last sync echo said about the agent.
        var agent: Agent.Sync.Result?
    }

    private let send: Send
    private let receive: Receive
    private let pipelining: Bool
    /// The first request needs no sync before it (see `init`); false once it was answered.
    private let firstWithoutSync: Mutex<Bool>
    private let state = Mutex(State())

    /// - Parameter pipelining: send the sync and the first request (and the first request after
    ///   any failure) in one write instead of waiting for the echo first, which saves a round trip.
    ///   Only for a transport that reaches the agent at once: a request queued behind another
    ///   client would still be acted on after this side gave up.
    /// - Parameter fresh: a connection of its own (a channel socket just connected): the first
    ///   request goes without a sync, after a newline that ends any partial frame left in the
    ///   channel, and every reply before the one with its id (random, 40 bits) is skipped as
    ///   stale. That spares the agent a request per command; an agent of another version refuses
    ///   the request itself, naming its version. Later requests, and any after a failure, sync.
    public init(send: @escaping Send, receive: @escaping Receive, pipelining: Bool = false, fresh: Bool = false) {
        self.send = send
        self.receive = receive
        self.pipelining = pipelining
        self.firstWithoutSync = Mutex(fresh)
    }

    /// The agent's version as its last sync echo gave it; nil before the first sync.
    public var agentVersion: String? { state.withLock { $0.agent?.agentVersion } }

    /// Sends `call` and returns its typed result, resynchronising first when needed. Throws the
    /// agent's own error when it refused, `.timeout` when `timeout` passed (or, when a sync comes
    /// first, when its echo took longer than `syncTimeout`: a long call must not wait its whole time
    /// on an agent that does not answer at all), `.agent` for a bad reply, `.unavailable` when the
    /// channel closed, `.unsupported` when the agent speaks another version.
    @discardableResult
    public func call<Call: AgentCall>(_ call: Call.Type, _ arguments: Call.Arguments, timeout: Duration = .seconds(30),
                                      syncTimeout: Duration = .seconds(10)) throws(PartitionError) -> Call.Result {
        let deadline = ContinuousClock.now + timeout
        return try state.withLock { (state: inout State) throws(PartitionError) -> Call.Result in
            let request = try AgentRequest(id: take(&state), call, arguments)
            // Only a short request goes without a sync: before a long one (a command run by
            // wpar.exec), the sync's own short timeout reports a frozen agent in seconds.
            if !state.synchronised && timeout <= syncTimeout && firstWithoutSync.withLock({ first in defer { first = false }; return first }) {
                try send([AgentWire.newline] + (try AgentCodec.encode(request)), remaining(deadline, timeout))
                return try receiveReply(&state, to: request, deadline: deadline, timeout: timeout, skippingStale: true).result(of: call)
            }
            if !state.synchronised {
                let syncTime = min(timeout, syncTimeout)
                try synchronise(&state, deadline: ContinuousClock.now + syncTime, timeout: syncTime, before: pipelining ? request : nil)
                if pipelining { return try receiveReply(&state, to: request, deadline: deadline, timeout: timeout).result(of: call) }
            }
            return try exchange(&state, request, deadline: deadline, timeout: timeout).result(of: call)
        }
    }

    /// Asks for a session (`wpar.attach`) and, once the agent accepted it, hands the channel to
    /// `body` as an `AgentSession` until `body` returns. What the session leaves in the channel is
    /// dropped by the sync before the next call.
    public func session<T>(_ arguments: Agent.Attach.Arguments, timeout: Duration = .seconds(30),
                           _ body: (AgentSession) throws(PartitionError) -> T) throws(PartitionError) -> T {
        try session(Agent.Attach.self, arguments, timeout: timeout, body)
    }

    /// A session started by `call` (`wpar.attach`, `system.attach`), as above.
    public func session<Call: AgentCall, T>(_ call: Call.Type, _ arguments: Call.Arguments, timeout: Duration = .seconds(30),
                                            _ body: (AgentSession) throws(PartitionError) -> T) throws(PartitionError) -> T {
        let deadline = ContinuousClock.now + timeout
        return try state.withLock { (state: inout State) throws(PartitionError) -> T in
            let request = try AgentRequest(id: take(&state), call, arguments)
            if !state.synchronised && firstWithoutSync.withLock({ first in defer { first = false }; return first }) {
                try send([AgentWire.newline] + (try AgentCodec.encode(request)), remaining(deadline, timeout))
                _ = try receiveReply(&state, to: request, deadline: deadline, timeout: timeout, skippingStale: true).result(of: call)
            } else if !state.synchronised {
                try synchronise(&state, deadline: deadline, timeout: timeout, before: pipelining ? request : nil)
                if pipelining {
                    _ = try receiveReply(&state, to: request, deadline: deadline, timeout: timeout).result(of: call)
                } else {
                    _ = try exchange(&state, request, deadline: deadline, timeout: timeout).result(of: call)
                }
            } else {
                _ = try exchange(&state, request, deadline: deadline, timeout: timeout).result(of: call)
            }
            defer {
                state.synchronised = false
                state.reader = AgentFrameReader()
            }
            // Output may have come in the same read as the reply: the session takes the reader over.
            return try body(AgentSession(send: send, receive: receive, reader: state.reader))
        }
    }

    /// Drops whatever is in the channel: ends any partial frame the agent holds with a newline, then
    /// sends `sync` with a random token and skips everything up to its echo.
    public func synchronise(timeout: Duration = .seconds(10)) throws(PartitionError) {
        let deadline = ContinuousClock.now + timeout
        try state.withLock { (state: inout State) throws(PartitionError) in
            try synchronise(&state, deadline: deadline, timeout: timeout, before: nil)
        }
    }

    /// The sync exchange; `request`, when given, goes out in the same write right after the sync,
    /// and its reply is left for `receiveReply`.
    private func synchronise(_ state: inout State, deadline: ContinuousClock.Instant, timeout: Duration,
                             before request: AgentRequest?) throws(PartitionError) {
        state.synchronised = false
        state.reader = AgentFrameReader()
        let token = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let sync = try AgentRequest(id: take(&state), Agent.Sync.self, .init(token: token))
        var bytes = [AgentWire.newline] + (try AgentCodec.encode(sync))
        if let request { bytes += try AgentCodec.encode(request) }
        try send(bytes, remaining(deadline, timeout))
        while true {
            // Stale replies, garbage and oversized leftovers are what sync exists to skip.
            // The token, not the id, tells: an earlier session may have used the same ids.
            guard case .frame(let frame) = try nextEvent(&state, deadline: deadline, timeout: timeout),
                  let reply = try? AgentCodec.decodeReply(frame), reply.id == sync.id else { continue }
            if case .failure(let failure) = reply.outcome {
                // An agent of protocol 1 refuses the versioned frame: say what to do about it.
                throw PartitionError(.unsupported,
                    "The agent refused the handshake of protocol version \(AgentWire.protocolVersion) (\(failure.partitionError.message)); its guest image is older than this partctl: rebuild the guest image ('make guest-image') and restart the LPAR.")
            }
            guard let echo = try? reply.result(of: Agent.Sync.self) else {
                // Agents of protocols 2 and 3 echo a sync of a version they do not speak as it
                // came ({"token": …}): an old guest image, which must be said, not waited on.
                if case .success(let value) = reply.outcome, value == .object(["token": .string(token)]) {
                    throw PartitionError(.unsupported,
                        "The agent speaks an older protocol than version \(AgentWire.protocolVersion); its guest image is older than this partctl: rebuild the guest image ('make guest-image') and restart the LPAR.")
                }
                continue
            }
            guard echo.token == token else { continue }
            guard AgentWire.servedVersions.contains(echo.protocolVersion) else {
                throw PartitionError(.unsupported,
                    "The agent speaks protocol version \(echo.protocolVersion), partctl \(AgentWire.protocolVersion); rebuild the guest image ('make guest-image') and restart the LPAR.")
            }
            state.agent = echo
            state.synchronised = true
            return
        }
    }

    /// Sends one request and reads its reply. Any failure leaves the conversation unsynchronised.
    private func exchange(_ state: inout State, _ request: AgentRequest, deadline: ContinuousClock.Instant,
                          timeout: Duration) throws(PartitionError) -> AgentReply {
        state.synchronised = false
        try send(AgentCodec.encode(request), remaining(deadline, timeout))
        return try receiveReply(&state, to: request, deadline: deadline, timeout: timeout)
    }

    /// Reads the reply to `request`, already sent; it leaves the conversation synchronised.
    private func receiveReply(_ state: inout State, to request: AgentRequest, deadline: ContinuousClock.Instant,
                              timeout: Duration, skippingStale: Bool = false) throws(PartitionError) -> AgentReply {
        state.synchronised = false
        if skippingStale {
            // What a fresh connection finds before its reply is stale (or the agent's answer to a
            // partial frame, id 0): skipped, as a sync would have skipped it.
            while true {
                guard case .frame(let frame) = try nextEvent(&state, deadline: deadline, timeout: timeout),
                      let reply = try? AgentCodec.decodeReply(frame), reply.id == request.id else { continue }
                state.synchronised = true
                return reply
            }
        }
        switch try nextEvent(&state, deadline: deadline, timeout: timeout) {
        case .oversized:
            throw PartitionError(.agent, "The agent sent a reply longer than \(AgentWire.frameLimit) bytes.")
        case .frame(let frame):
            let reply: AgentReply
            do { reply = try AgentCodec.decodeReply(frame) } catch {
                throw PartitionError(.agent, "The agent sent a malformed reply to \(request.operation.rawValue): \(error.message)")
            }
            guard reply.id == request.id else {
                throw PartitionError(.agent, "The agent answered request \(reply.id) while request \(request.id) was waiting.")
            }
            state.synchronised = true
            return reply
        }
    }

    private func nextEvent(_ state: inout State, deadline: ContinuousClock.Instant,
                           timeout: Duration) throws(PartitionError) -> AgentFrameReader.Event {
        while true {
            if let event = state.reader.next() { return event }
            let bytes = try receive(65_536, remaining(deadline, timeout))
            guard !bytes.isEmpty else {
                throw PartitionError(.unavailable, "The agent's channel was closed.")
            }
            state.reader.append(bytes)
        }
    }

    private func remaining(_ deadline: ContinuousClock.Instant, _ timeout: Duration) throws(PartitionError) -> Duration {
        let left = deadline - .now
        guard left > .zero else { throw PartitionError(.timeout, "The agent did not answer within \(timeout).") }
        return left
    }

    private func take(_ state: inout State) -> UInt64 {
        defer { state.nextID += 1 }
        return state.nextID
    }
}
