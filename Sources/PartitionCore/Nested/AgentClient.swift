import AgentProtocol
import LibvirtKit
import PartitionModel

/// The host's handle on one LPAR's agent: the `org.partctl.agent.0` channel opened through libvirt
/// (so it works over remote connections too), synchronised and greeted with `hello`.
///
/// The connection must have been opened after `LibvirtEventLoop.start()`. Calls are serial; each has
/// its own timeout. Errors are `PartitionError`s: `.unavailable` when the channel or the agent is not
/// there, `.timeout` when it did not answer in time, `.agent` for a reply that breaks the protocol,
/// or the agent's own error when it refused the operation.
public final class AgentClient: Sendable {
    /// What the agent said about itself.
    public let hello: Agent.Hello.Result
    /// The LPAR's name, for messages.
    public let lpar: String
    private let stream: LibvirtStream
    private let conversation: AgentConversation

    private init(lpar: String, stream: LibvirtStream, conversation: AgentConversation, hello: Agent.Hello.Result) {
        self.lpar = lpar
        self.stream = stream
        self.conversation = conversation
        self.hello = hello
    }

    deinit { stream.abort() }

    /// Opens the channel of the running `domain` and waits up to `timeout` for the agent to answer a
    /// sync and a hello of the same protocol version. Meant for right after activation: the guest
    /// may still be booting, so the sync is repeated until the deadline.
    /// `untilPortOpened`, when given, runs once the channel is open and before the first sync: a fresh
    /// guest's port opens late, and syncs sent before queue up for the agent to answer one by one.
    public static func connect(to domain: LibvirtDomain, timeout: Duration = .seconds(30),
                               untilPortOpened: ((ContinuousClock.Instant) throws(PartitionError) -> Void)? = nil) throws(PartitionError) -> AgentClient {
        let lpar = domain.name
        let deadline = ContinuousClock.now + timeout
        let stream: LibvirtStream
        do { stream = try domain.openChannel(name: AgentWire.channelName) } catch {
            throw PartitionError(.unavailable, "The agent channel of \(lpar) cannot be opened: \(error.message)", partition: lpar)
        }
        let conversation = AgentConversation(
            send: { (bytes: [UInt8], timeout: Duration) throws(PartitionError) in try stream.send(bytes, timeout: timeout) },
            receive: { (max: Int, timeout: Duration) throws(PartitionError) -> [UInt8] in
                try stream.receive(max: max, timeout: timeout)
            })
        if let untilPortOpened {
            do { try untilPortOpened(deadline) } catch {
                stream.abort()
                throw error.with(partition: lpar)
            }
        }
        // Bytes sent before the agent opened its port may be lost: ask again every quarter second.
        var synchronised = false
        while !synchronised && ContinuousClock.now < deadline {
            do {
                try conversation.synchronise(timeout: min(.milliseconds(250), deadline - .now))
                synchronised = true
            } catch where error.code == .timeout {
                continue
            } catch {
                stream.abort()
                throw error.with(partition: lpar)
            }
        }
        guard synchronised else {
            stream.abort()
            throw PartitionError(.unavailable, "The agent in \(lpar) did not answer within \(timeout).", partition: lpar)
        }
        let hello: Agent.Hello.Result
        do {
            hello = try conversation.call(Agent.Hello.self, .init(), timeout: max(deadline - .now, .seconds(2)))
        } catch {
            stream.abort()
            throw error.with(partition: lpar, operation: "hello")
        }
        guard hello.protocolVersion == AgentWire.protocolVersion else {
            stream.abort()
            throw PartitionError(.unsupported,
                "The agent in \(lpar) speaks protocol version \(hello.protocolVersion); partctl speaks \(AgentWire.protocolVersion). Rebuild the guest image.",
                partition: lpar)
        }
        return AgentClient(lpar: lpar, stream: stream, conversation: conversation, hello: hello)
    }

    /// Runs one operation and returns its typed result.
    @discardableResult
    public func call<Call: AgentCall>(_ call: Call.Type, _ arguments: Call.Arguments,
                                      timeout: Duration = .seconds(30)) throws(PartitionError) -> Call.Result {
        do {
            return try conversation.call(call, arguments, timeout: timeout)
        } catch {
            throw error.with(partition: lpar, operation: Call.operation.rawValue)
        }
    }

    /// Ends the channel; later calls fail with `.unavailable` or `.libvirt`.
    public func close() {
        stream.abort()
    }
}
