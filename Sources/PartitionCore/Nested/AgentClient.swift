import AgentProtocol
import LibvirtKit
import PartitionModel
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The host's handle on one LPAR's agent: a free channel of its pool (`AgentChannelPool`), opened
/// through libvirt (so it works over remote connections too) or, for a local system connection,
/// directly at the socket libvirt would connect to (`AgentChannelSocket`).
///
/// Every request carries the protocol version, so no hello precedes the first one: the sync that
/// drops stale bytes also says which agent answers (`agentVersion`), and on the direct socket the
/// first request even travels in the same write as the sync. A libvirt stream needs the connection
/// opened after `LibvirtEventLoop.start()`. Calls are serial; each has its own timeout. Errors are
/// `PartitionError`s: `.unavailable` when the channel or the agent is not there, `.timeout` when it
/// did not answer in time, `.agent` for a reply that breaks the protocol, `.unsupported` for an
/// agent of another protocol version, or the agent's own error when it refused the operation.
public final class AgentClient: Sendable {
    /// The LPAR's name, for messages.
    public let lpar: String
    private let conversation: AgentConversation
    private let end: @Sendable () -> Void
    /// The channel of the pool this client holds, kept until the client goes.
    private let held = Mutex<AgentChannelClaim?>(nil)
    private var claim: AgentChannelClaim? {
        get { held.withLock { $0 } }
        set { held.withLock { $0 = newValue } }
    }

    private init(lpar: String, conversation: AgentConversation, end: @escaping @Sendable () -> Void) {
        self.lpar = lpar
        self.conversation = conversation
        self.end = end
    }

    deinit { end() }

    /// The agent's version, as its sync echo gave it; nil before the first call.
    public var agentVersion: String? { conversation.agentVersion }

    /// Takes a free agent channel of the running `domain` through libvirt (`AgentChannelPool`,
    /// waiting while all are held) and waits up to `timeout` for the agent to answer a sync. Right
    /// after activation the guest may still be booting: the sync is repeated every quarter second.
    /// A stream that libvirt reports broken is opened again, as long as the domain runs.
    /// `untilPortOpened`, when given, runs once the channel is open and before the first sync: a
    /// fresh guest's port opens late, and syncs sent before queue up for the agent to answer one
    /// by one. `purpose` ("console of lp1/web") is what another command waiting for a channel is told.
    public static func connect(to domain: LibvirtDomain, timeout: Duration = .seconds(30), purpose: String? = nil,
                               configuration: PartctlConfiguration = .fromEnvironment(), notice: (String) -> Void = { _ in },
                               untilPortOpened: ((Int, ContinuousClock.Instant) throws(PartitionError) -> Void)? = nil) throws(PartitionError) -> AgentClient {
        let lpar = domain.name
        let deadline = ContinuousClock.now + timeout
        let channels = try AgentChannelState.channels(of: domain)
        guard !channels.isEmpty else {
            throw PartitionError(.unsupported, "The LPAR \(lpar) has no agent channel.", partition: lpar)
        }
        // The socket table tells about clients libvirt does not know (another partctl's direct
        // connection, which a libvirt stream would queue behind unseen), for sockets on this host.
        let sameHost = configuration.isLocal
        var (client, claim) = try AgentChannelPool.take(channels.map(\.index), of: lpar, purpose: purpose ?? "a command on \(lpar)",
                                                        configuration: configuration, until: deadline, notice: notice) { (index) throws(PartitionError) -> AgentClient? in
            if sameHost, let path = channels.first(where: { $0.index == index })?.socketPath, AgentChannelSocket.isHeld(path) { return nil }
            return try open(domain, channel: index)
        }
        if let untilPortOpened {
            do { try untilPortOpened(claim.index, deadline) } catch {
                client.close()
                throw error.with(partition: lpar)
            }
        }
        while ContinuousClock.now < deadline {
            do {
                try client.conversation.synchronise(timeout: min(.milliseconds(250), deadline - .now))
                client.claim = claim
                return client
            } catch where error.code == .timeout {
                continue
            } catch where error.code == .libvirt || error.code == .unavailable {
                client.close()
                guard (try? domain.isActive()) == true else {
                    throw PartitionError(.unavailable, "The LPAR \(lpar) stopped.", partition: lpar)
                }
                usleep(100_000)
                guard let reopened = try open(domain, channel: claim.index) else { continue }
                client = reopened
            } catch {
                throw error.with(partition: lpar)
            }
        }
        throw PartitionError(.unavailable, "The agent in \(lpar) did not answer within \(timeout).", partition: lpar)
    }

    /// Agent channel `channel` of the running `domain` through libvirt, or nil when another libvirt
    /// client holds it. Never with FORCE: taking a channel over breaks the holder's session.
    /// Not pipelined: behind another client's connection a request would wait unseen.
    static func open(_ domain: LibvirtDomain, channel: Int) throws(PartitionError) -> AgentClient? {
        let lpar = domain.name
        let stream: LibvirtStream
        do { stream = try domain.openChannel(name: AgentWire.channelName(channel), force: false) } catch {
            if error.message.contains("exists for this domain") { return nil }
            throw PartitionError(.unavailable, "The agent channel of \(lpar) cannot be opened: \(error.message)", partition: lpar)
        }
        let conversation = AgentConversation(
            send: { (bytes: [UInt8], timeout: Duration) throws(PartitionError) in try stream.send(bytes, timeout: timeout) },
            receive: { (max: Int, timeout: Duration) throws(PartitionError) -> [UInt8] in
                try stream.receive(max: max, timeout: timeout)
            })
        return AgentClient(lpar: lpar, conversation: conversation, end: { stream.abort() })
    }

    /// A free agent channel of the running LPAR `lpar` straight at its socket, without libvirt;
    /// nil when that path does not apply (see `AgentChannelSocket`) and `connect` must be used.
    /// Waits up to `timeout` while all channels are held.
    static func openDirect(lpar: String, purpose: String, configuration: PartctlConfiguration,
                           timeout: Duration, notice: (String) -> Void = { _ in }) throws(PartitionError) -> AgentClient? {
        guard let sockets = AgentChannelSocket.channels(lpar: lpar, configuration: configuration) else { return nil }
        let (socket, claim) = try AgentChannelPool.take(sockets.keys.sorted(), of: lpar, purpose: purpose, configuration: configuration,
                                                        until: .now + timeout, notice: notice) { (index) throws(PartitionError) -> AgentChannelSocket? in
            AgentChannelSocket.open(sockets[index]!)
        }
        let conversation = AgentConversation(
            send: { (bytes: [UInt8], timeout: Duration) throws(PartitionError) in try socket.send(bytes, timeout: timeout) },
            receive: { (max: Int, timeout: Duration) throws(PartitionError) -> [UInt8] in
                try socket.receive(max: max, timeout: timeout)
            },
            pipelining: true, fresh: true)
        let client = AgentClient(lpar: lpar, conversation: conversation, end: { socket.shutdownBoth() })
        client.claim = claim
        return client
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

    /// A session on the channel (`wpar.attach`): `body` gets it once the agent accepted.
    public func session<T>(_ arguments: Agent.Attach.Arguments,
                           _ body: (AgentSession) throws(PartitionError) -> T) throws(PartitionError) -> T {
        do {
            return try conversation.session(arguments, timeout: NestedBackend.agentTimeout, body)
        } catch {
            throw error.with(partition: lpar)
        }
    }

    /// A session with a command in the guest itself (`system.attach`, `login LPAR`); an agent too
    /// old for it is named with what to do.
    public func systemSession<T>(_ arguments: Agent.SystemAttach.Arguments,
                                 _ body: (AgentSession) throws(PartitionError) -> T) throws(PartitionError) -> T {
        do {
            return try conversation.session(Agent.SystemAttach.self, arguments, timeout: NestedBackend.agentTimeout, body)
        } catch {
            throw Agent.SystemAttach.explainRefusal(error, lpar: lpar).with(partition: lpar)
        }
    }

    /// What the agent says about itself and its guest (kernel, cgroups): a hello round trip.
    public func facts(timeout: Duration = .seconds(10)) throws(PartitionError) -> Agent.Hello.Result {
        let hello = try call(Agent.Hello.self, .init(), timeout: timeout)
        guard hello.protocolVersion == AgentWire.protocolVersion else {
            throw PartitionError(.unsupported,
                "The agent in \(lpar) speaks protocol version \(hello.protocolVersion); partctl speaks \(AgentWire.protocolVersion). Rebuild the guest image.",
                partition: lpar)
        }
        return hello
    }

    /// Ends the channel and frees it for other commands; later calls fail with `.unavailable` or `.libvirt`.
    public func close() {
        end()
        claim = nil
    }
}
