import AgentProtocol
import PartitionModel
import Synchronization
import Testing

/// A scripted peer: what the host sends is recorded; what it receives is produced by `answer`,
/// which sees each request the host sent and returns bytes to deliver.
private final class ScriptedPeer: Sendable {
    let pending = Mutex<[UInt8]>([])
    /// The operations of each write the host made, in order.
    let writes = Mutex<[[AgentOperation]]>([])
    let reader = Mutex(AgentFrameReader())
    let answer: @Sendable (AgentRequest) -> [UInt8]
    let preamble: [UInt8]

    init(preamble: [UInt8] = [], answer: @escaping @Sendable (AgentRequest) -> [UInt8]) {
        self.preamble = preamble
        self.answer = answer
        pending.withLock { $0 = preamble }
    }

    var conversation: AgentConversation { conversation(pipelining: false) }

    func conversation(pipelining: Bool, fresh: Bool = false) -> AgentConversation {
        AgentConversation(send: { (bytes: [UInt8], _: Duration) throws(PartitionError) in
            let requests = self.reader.withLock { reader -> [AgentRequest] in
                reader.append(bytes)
                var requests: [AgentRequest] = []
                while case .frame(let frame)? = reader.next() {
                    if let request = try? AgentCodec.decodeRequest(frame) { requests.append(request) }
                }
                return requests
            }
            self.writes.withLock { $0.append(requests.map(\.operation)) }
            for request in requests { self.pending.withLock { $0 += self.answer(request) } }
        }, receive: { (max: Int, timeout: Duration) throws(PartitionError) -> [UInt8] in
            let chunk = self.pending.withLock { pending -> [UInt8] in
                let chunk = Array(pending.prefix(min(max, 997)))  // frames arrive split across reads
                pending.removeFirst(chunk.count)
                return chunk
            }
            if chunk.isEmpty { throw PartitionError(.timeout, "Nothing arrived within \(timeout).") }
            return chunk
        }, pipelining: pipelining, fresh: fresh)
    }
}

private func reply<Call: AgentCall>(_ id: UInt64, _ call: Call.Type, _ result: Call.Result) -> [UInt8] {
    (try? AgentCodec.encode(AgentReply(id: id, outcome: .success(StrictJSON.encode(result, what: "result"))))) ?? []
}

private func echo(_ request: AgentRequest) -> [UInt8] {
    switch request.operation {
    case .sync:
        let token = (try? request.arguments(of: Agent.Sync.self))?.token ?? ""
        return reply(request.id, Agent.Sync.self, .init(token: token, agentVersion: "9.9.9"))
    case .wparList:
        return reply(request.id, Agent.List.self, .init(names: [try! PartitionName("web")]))
    default:
        return (try? AgentCodec.encode(AgentReply(id: request.id, outcome: .failure(AgentFailure(code: "unsupported", message: "No."))))) ?? []
    }
}

@Suite struct ConversationTests {
    @Test func staleBytesBeforeTheSyncAreSkipped() throws {
        let stale = Array("{\"id\":1,\"ok\":true,\"result\":{\"names\":[\"old\"]}}\ngarbage\n{\"half".utf8)
            + Array(repeating: UInt8(ascii: "x"), count: AgentWire.frameLimit + 10) + [10]
        let peer = ScriptedPeer(preamble: stale, answer: echo)
        let result = try peer.conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(60))
        #expect(result.names.map(\.rawValue) == ["web"])
    }

    @Test(arguments: [false, true])
    func theSyncEchoNamesTheAgentAndPipeliningSavesARoundTrip(pipelining: Bool) throws {
        let peer = ScriptedPeer(answer: echo)
        let conversation = peer.conversation(pipelining: pipelining)
        #expect(conversation.agentVersion == nil)
        #expect(try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names.count == 1)
        #expect(try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names.count == 1)
        #expect(conversation.agentVersion == "9.9.9")
        let writes = peer.writes.withLock { $0 }
        #expect(writes == (pipelining ? [[.sync, .wparList], [.wparList]] : [[.sync], [.wparList], [.wparList]]))
    }

    @Test func everyRequestNamesTheProtocolVersion() throws {
        let peer = ScriptedPeer { request in
            request.version == AgentWire.protocolVersion ? echo(request) : []
        }
        #expect(try peer.conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names.count == 1)
    }

    @Test func anAgentThatRefusesTheVersionedSyncIsUnsupported() {
        // What an agent of protocol 1 does with a frame that carries "v".
        let peer = ScriptedPeer { request in
            (try? AgentCodec.encode(AgentReply(id: request.id, outcome: .failure(AgentFailure(code: "agent",
                message: "The request has a field this version does not know: \"v\"."))))) ?? []
        }
        let error = #expect(throws: PartitionError.self) {
            try peer.conversation(pipelining: true).call(Agent.List.self, AgentEmpty(), timeout: .seconds(5))
        }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("rebuild the guest image") == true)
    }

    /// An agent of protocol 3 (an old guest image) echoes a sync of version 4 as it came: the host
    /// says so at once, naming the version and the remedy, instead of waiting for an echo that never
    /// has the shape it expects.
    @Test func anOldGuestImageIsNamedNotWaitedFor() {
        let peer = ScriptedPeer { request in
            guard request.operation == .sync, let token = try? request.arguments(of: Agent.Sync.self).token else { return [] }
            return (try? AgentCodec.encode(AgentReply(id: request.id, outcome: .success(.object(["token": .string(token)]))))) ?? []
        }
        let started = ContinuousClock.now
        let error = #expect(throws: PartitionError.self) {
            try peer.conversation(pipelining: true).call(Agent.List.self, AgentEmpty(), timeout: .seconds(5))
        }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("protocol than version \(AgentWire.protocolVersion)") == true)
        #expect(error?.message.contains("make guest-image") == true)
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    /// The wire carries PartitionError's codes by name, every one of them, and nothing else.
    @Test func everyErrorCodeCrossesTheWire() {
        for code in PartitionError.Code.all {
            let failure = AgentFailure(PartitionError(code, "Refused."))
            #expect(failure.partitionError.code == code)
        }
        #expect(AgentFailure(code: "no-such-code", message: "?").partitionError.code == .agent)
    }

    /// On a connection of its own, the first request goes alone (no sync for the agent to answer
    /// first), and what was left in the channel before its reply is skipped.
    @Test func aFreshConnectionSendsItsFirstRequestWithoutASync() throws {
        let stale = (try? AgentCodec.encode(AgentReply(id: 7, outcome: .success(.object(["names": .array([])]))))) ?? []
        let peer = ScriptedPeer(preamble: Array("garbage\n".utf8) + stale, answer: echo)
        let conversation = peer.conversation(pipelining: true, fresh: true)
        #expect(try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names.count == 1)
        #expect(peer.writes.withLock { $0 } == [[.wparList]])
        // The conversation is in step after that reply: the next request goes straight too.
        #expect(try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names.count == 1)
        #expect(peer.writes.withLock { $0 }.count == 2)
    }

    @Test func theAgentsRefusalIsThrownAsItsError() {
        let peer = ScriptedPeer(answer: echo)
        let error = #expect(throws: PartitionError.self) {
            try peer.conversation.call(Agent.Hello.self, .init(), timeout: .seconds(5))
        }
        #expect(error?.code == .unsupported)
    }

    @Test func aMalformedReplyIsAnAgentErrorAndTheNextCallResynchronises() throws {
        let calls = Mutex(0)
        let peer = ScriptedPeer { request in
            guard request.operation == .wparList else { return echo(request) }
            let first = calls.withLock { count in
                defer { count += 1 }
                return count == 0
            }
            return first ? Array("{\"id\":\(request.id),\"ok\":true,\"result\":{\"names\":[7]}}\n".utf8) : echo(request)
        }
        let conversation = peer.conversation
        let error = #expect(throws: PartitionError.self) { try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)) }
        #expect(error?.code == .agent)
        #expect(try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names.count == 1)
    }

    @Test(arguments: [false, true])
    func aLongCallGivesUpOnASilentAgentAfterTheSyncTimeout(pipelining: Bool) {
        let peer = ScriptedPeer { _ in [] }
        let started = ContinuousClock.now
        let error = #expect(throws: PartitionError.self) {
            try peer.conversation(pipelining: pipelining).call(Agent.List.self, AgentEmpty(), timeout: .seconds(600),
                                                               syncTimeout: .milliseconds(200))
        }
        #expect(error?.code == .timeout)
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test func silenceIsATimeout() {
        let peer = ScriptedPeer { _ in [] }
        let error = #expect(throws: PartitionError.self) {
            try peer.conversation.call(Agent.List.self, AgentEmpty(), timeout: .milliseconds(200))
        }
        #expect(error?.code == .timeout)
    }
}

@Suite struct UntrustedReplyTests {
    /// Replies to the one request that is not a sync, in place of a proper answer.
    private func peer(answering bytes: @escaping @Sendable (UInt64) -> [UInt8]) -> ScriptedPeer {
        ScriptedPeer { request in request.operation == .sync ? echo(request) : bytes(request.id) }
    }

    @Test func anOversizedReplyIsRefusedWithoutBufferingIt() {
        let conversation = peer { _ in Array(repeating: UInt8(ascii: "{"), count: AgentWire.frameLimit + 1) + [10] }.conversation
        let error = #expect(throws: PartitionError.self) { try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(30)) }
        #expect(error?.code == .agent)
        #expect(error?.message.contains("longer than") == true)
    }

    @Test func aReplyForAnotherRequestIsRefused() {
        let conversation = peer { id in
            (try? AgentCodec.encode(AgentReply(id: id + 1, outcome: .success(.object(["names": .array([])]))))) ?? []
        }.conversation
        let error = #expect(throws: PartitionError.self) { try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)) }
        #expect(error?.code == .agent)
    }

    @Test func aClosedChannelIsUnavailable() {
        let conversation = AgentConversation(send: { (_: [UInt8], _: Duration) throws(PartitionError) in },
                                             receive: { (_: Int, _: Duration) throws(PartitionError) -> [UInt8] in [] })
        let error = #expect(throws: PartitionError.self) { try conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)) }
        #expect(error?.code == .unavailable)
    }
}
