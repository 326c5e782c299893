import AgentProtocol
import Foundation
import Glibc
import PartitionModel
import Testing
import WorkloadEngine

/// partagent on the host, over its --socket endpoint, with its own state directories: the whole
/// protocol against the real engine, and the agent's handling of broken frames.
@Suite(.serialized) final class AgentSocketTests {
    let agent: SocketAgent
    var socketPath: String { agent.socketPath }

    init() throws {
        agent = try SocketAgent("agent")
    }

    deinit {
        // Whatever a failed test left running goes first, then the agent and its directories.
        if let link = try? SocketLink(path: socketPath, timeout: 2) {
            let conversation = link.conversation
            for name in (try? conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names) ?? [] {
                _ = try? conversation.call(Agent.Remove.self, .init(name: name, force: true), timeout: .seconds(30))
            }
        }
        agent.stop()
    }

    @Test func anApplicationWparLivesItsWholeLifeThroughTheAgent() throws {
        let conversation = try SocketLink(path: socketPath).conversation
        let hello = try conversation.call(Agent.Hello.self, .init(), timeout: .seconds(5))
        #expect(hello.protocolVersion == AgentWire.protocolVersion)
        #expect(!hello.kernel.isEmpty)

        let name = try PartitionName("ptest-sleeper")
        try conversation.call(Agent.Define.self, .init(name: name, spec: applicationSpec(name.rawValue, command: ["/bin/sleep", "1000"])))
        try conversation.call(Agent.Activate.self, .init(name: name))
        let cmdline = try conversation.call(Agent.Exec.self, .init(name: name, argv: ["/bin/cat", "/proc/1/cmdline"]))
        #expect(cmdline.exitStatus == 0)
        #expect(cmdline.stdout == "/bin/sleep\u{0}1000\u{0}")
        let failing = try conversation.call(Agent.Exec.self, .init(name: name, argv: ["/bin/sh", "-c", "echo oops >&2; exit 7"]))
        #expect(failing.exitStatus == 7)
        #expect(failing.stderr == "oops\n")

        let reports = try conversation.call(Agent.Statuses.self, AgentEmpty()).wpars
        #expect(reports.count == 1)
        let status = reports[0].status
        #expect(status.state == .running)
        #expect(status.limits.memoryMax == 64 << 20)
        let usage = reports[0].usage
        #expect(usage?.pidsCurrent == 1)

        try conversation.call(Agent.Shutdown.self, .init(name: name, within: 1, force: true))
        let stopped = try conversation.call(Agent.Status.self, .init(name: name))
        #expect(stopped.status.state == .defined)
        try conversation.call(Agent.Remove.self, .init(name: name))
        #expect(try conversation.call(Agent.List.self, AgentEmpty()).names.isEmpty)
    }

    @Test func refusalsComeBackAsTheEnginesErrors() throws {
        let conversation = try SocketLink(path: socketPath).conversation
        let missing = #expect(throws: PartitionError.self) {
            try conversation.call(Agent.Activate.self, .init(name: try PartitionName("ptest-missing")))
        }
        #expect(missing?.code == .notFound)
        // A spec the engine's type does not accept is refused by the agent's strict decoding.
        let link = try SocketLink(path: socketPath)
        link.send(Array("{\"v\":\(AgentWire.protocolVersion),\"id\":9,\"op\":\"wpar.define\",\"args\":{\"name\":\"ptest-bad\",\"spec\":{\"type\":\"vm\"},\"replace\":false}}\n".utf8))
        var reader = AgentFrameReader()
        var badSpec: AgentReply?
        while badSpec == nil {
            reader.append(try link.receive(max: 4096, timeout: .seconds(5)))
            if case .frame(let bytes)? = reader.next() { badSpec = try AgentCodec.decodeReply(bytes) }
        }
        guard case .failure(let refusal)? = badSpec?.outcome else {
            Issue.record("a bad spec was accepted")
            return
        }
        #expect(refusal.code == "agent")
    }

    /// Sessions over the agent's link: a login fed through its stdin, one on a terminal inside the
    /// WPAR, and the console with the output of the WPAR's init.
    @Test func sessionsStreamStdioBothWays() throws {
        let conversation = try SocketLink(path: socketPath).conversation
        let name = try PartitionName("ptest-session")
        try conversation.call(Agent.Define.self, .init(name: name, spec: applicationSpec(name.rawValue,
            command: ["/bin/sh", "-c", "echo init-says-hello; exec sleep 1000"], console: true)))
        try conversation.call(Agent.Activate.self, .init(name: name))

        func collect(_ session: AgentSession, feeding input: [AgentSessionFrame]) throws(PartitionError) -> (out: String, err: String, end: AgentSessionFrame?) {
            for frame in input { try session.send(frame) }
            var out: [UInt8] = [], err: [UInt8] = []
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline {
                switch try session.next(timeout: .milliseconds(100)) {
                case .output(1, let bytes)?: out += bytes
                case .output(_, let bytes)?: err += bytes
                case let end?: return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self), end)
                case nil: continue
                }
            }
            return (String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self), nil)
        }

        let piped = try conversation.session(.init(name: name, mode: .login, argv: ["/bin/sh"])) { (session) throws(PartitionError) in
            try collect(session, feeding: [.input(Array("echo out-$((6*7)); echo err >&2\n".utf8)), .endOfInput])
        }
        #expect(piped.out == "out-42\n")
        #expect(piped.err == "err\n")
        #expect(piped.end == .exit(status: 0))

        let terminal = try conversation.session(.init(name: name, mode: .login, argv: ["/bin/sh"], terminal: true)) { (session) throws(PartitionError) in
            try collect(session, feeding: [.input(Array("tty; exit 3\n".utf8))])
        }
        #expect(terminal.out.contains("/dev/pts/"), "\(terminal.out)")
        #expect(terminal.end == .exit(status: 3))

        let console = try conversation.session(.init(name: name, mode: .console)) { (session) throws(PartitionError) -> String in
            var seen: [UInt8] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline, !String(decoding: seen, as: UTF8.self).contains("init-says-hello") {
                if case .output(_, let bytes)? = try session.next(timeout: .milliseconds(100)) { seen += bytes }
            }
            try session.send(.detach)
            return String(decoding: seen, as: UTF8.self)
        }
        #expect(console.contains("init-says-hello"))

        // After each session the conversation resynchronises and the WPAR runs on.
        let status = try conversation.call(Agent.Status.self, .init(name: name))
        #expect(status.status.state == .running)
        let refused = #expect(throws: PartitionError.self) {
            try conversation.session(.init(name: try PartitionName("ptest-none"), mode: .console)) { (_) throws(PartitionError) in }
        }
        #expect(refused?.code == .notFound)
        try conversation.call(Agent.Remove.self, .init(name: name, force: true))
    }

    /// The agent serves its links at the same time (in a guest: the ports of the channel pool): a
    /// console held open on one does not keep another from querying, running commands and
    /// opening a second session on the same WPAR. Before the pool, the second link waited unseen.
    @Test func aSessionOnOneLinkDoesNotBlockTheOthers() throws {
        let first = try SocketLink(path: socketPath).conversation
        let name = try PartitionName("ptest-shared")
        try first.call(Agent.Define.self, .init(name: name, spec: applicationSpec(name.rawValue,
            command: ["/bin/sh", "-c", "echo shared-init; exec sleep 1000"], console: true)))
        try first.call(Agent.Activate.self, .init(name: name))
        // Connected before the console starts; nothing is sent on them until it runs.
        let second = try SocketLink(path: socketPath).conversation
        let third = try SocketLink(path: socketPath).conversation
        try first.session(.init(name: name, mode: .console)) { (console) throws(PartitionError) in
            let started = ContinuousClock.now
            let status = try second.call(Agent.Status.self, .init(name: name), timeout: .seconds(3), syncTimeout: .seconds(3))
            #expect(status.status.state == .running)
            let echo = try second.call(Agent.Exec.self, .init(name: name, argv: ["/bin/echo", "beside"]), timeout: .seconds(5))
            #expect(echo.stdout == "beside\n")
            // A login of the same WPAR on a third link while the console still runs.
            let login = try third.session(.init(name: name, mode: .login, argv: ["/bin/sh", "-c", "exit 4"]),
                                          timeout: .seconds(5)) { (session) throws(PartitionError) -> AgentSessionFrame? in
                try session.send(.endOfInput)
                let deadline = ContinuousClock.now + .seconds(5)
                while ContinuousClock.now < deadline {
                    if let frame = try session.next(timeout: .milliseconds(100)), case .exit = frame { return frame }
                }
                return nil
            }
            #expect(login == .exit(status: 4))
            #expect(ContinuousClock.now - started < .seconds(5))
            // The console is still attached and served.
            try console.send(.input(Array("\n".utf8)))
            try console.send(.detach)
        }
        try first.call(Agent.Remove.self, .init(name: name, force: true))
    }

    /// Sends one raw frame as an older host would and reads the agent's reply.
    static func ask(_ link: SocketLink, _ text: String) throws -> AgentReply {
        link.send(Array((text + "\n").utf8))
        var reader = AgentFrameReader()
        while true {
            reader.append(try link.receive(max: 4096, timeout: .seconds(5)))
            if case .frame(let bytes)? = reader.next() { return try AgentCodec.decodeReply(bytes) }
        }
    }

    /// A host of protocol 3 (main's partctl before the channel pool) is served as before: its sync
    /// echo and hello name version 3, which it checks.
    @Test func aHostOfProtocolThreeIsStillServed() throws {
        let link = try SocketLink(path: socketPath)
        func ask(_ text: String) throws -> AgentReply { try Self.ask(link, text) }
        let echo = try ask("{\"v\":3,\"id\":1,\"op\":\"sync\",\"args\":{\"token\":\"abc\"}}")
        #expect(try echo.result(of: Agent.Sync.self).protocolVersion == 3)
        let hello = try ask("{\"v\":3,\"id\":2,\"op\":\"hello\",\"args\":{\"protocolVersion\":3}}")
        #expect(try hello.result(of: Agent.Hello.self).protocolVersion == 3)
        let list = try ask("{\"v\":3,\"id\":3,\"op\":\"wpar.list\",\"args\":{}}")
        #expect(try list.result(of: Agent.List.self).names.isEmpty)
    }

    /// A host of protocol 1 (frames without "v") gets its sync echoed as it knows it and is told at
    /// hello to rebuild the image; anything else it asks is refused, not acted on.
    @Test func aHostOfAnotherVersionIsRefusedBeforeAnythingHappens() throws {
        let link = try SocketLink(path: socketPath)
        func ask(_ text: String) throws -> AgentReply { try Self.ask(link, text) }
        let echo = try ask("{\"id\":1,\"op\":\"sync\",\"args\":{\"token\":\"abc\"}}")
        #expect(echo.outcome == .success(.object(["token": .string("abc")])))
        let hello = try ask("{\"id\":2,\"op\":\"hello\",\"args\":{\"protocolVersion\":1}}")
        guard case .failure(let refusal) = hello.outcome else {
            Issue.record("hello of protocol 1 was accepted")
            return
        }
        #expect(refusal.code == "unsupported")
        #expect(refusal.message.contains("rebuild the guest image"))
        let define = try ask("{\"id\":3,\"op\":\"wpar.remove\",\"args\":{\"name\":\"ptest-x\",\"force\":true}}")
        guard case .failure(let refused) = define.outcome else {
            Issue.record("a request of protocol 1 was acted on")
            return
        }
        #expect(refused.code == "unsupported")
    }

    @Test(arguments: ["garbage\n", "{\"id\":3,\"op\":\"hello\",\"args\":{\"protocolVersion\":\"one\"}}\n",
                      String(repeating: "x", count: AgentWire.frameLimit + 100) + "\n"])
    func aBrokenFrameGetsAnErrorAndTheAgentKeepsServing(frame: String) throws {
        let link = try SocketLink(path: socketPath)
        link.send(Array(frame.utf8))
        var reader = AgentFrameReader()
        var event: AgentFrameReader.Event?
        while event == nil {
            reader.append(try link.receive(max: 4096, timeout: .seconds(5)))
            event = reader.next()
        }
        guard case .frame(let bytes) = event else {
            Issue.record("The agent's reply was oversized.")
            return
        }
        let reply = try AgentCodec.decodeReply(bytes)
        guard case .failure(let failure) = reply.outcome else {
            Issue.record("The agent accepted a broken frame.")
            return
        }
        #expect(failure.code == "agent")
        #expect(try link.conversation.call(Agent.List.self, AgentEmpty(), timeout: .seconds(5)).names.isEmpty)
    }
}
