import AgentProtocol
import Foundation
import PartitionModel
import Testing
import WorkloadEngine

@Suite struct CodecTests {
    private func frame(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func requestsRoundTripThroughTheirTypedArguments() throws {
        let name = try PartitionName("web")
        // The engine's own spec crosses the wire as a typed value and comes back equal.
        let spec = WorkloadSpec(name: name, kind: .application, root: .host, command: ["/bin/sleep", "9"],
                                limits: WorkloadLimits(memoryMax: UInt64.max))
        let request = try AgentRequest(id: 42, Agent.Define.self, .init(name: name, spec: spec, replace: true))
        let bytes = try AgentCodec.encode(request)
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(bytes.dropLast().contains(UInt8(ascii: "\n")) == false)
        let decoded = try AgentCodec.decodeRequest(Array(bytes.dropLast()))
        #expect(decoded.id == 42)
        #expect(decoded.operation == .wparDefine)
        let arguments = try decoded.arguments(of: Agent.Define.self)
        #expect(arguments == .init(name: name, spec: spec, replace: true))
    }

    @Test func repliesRoundTripAsSuccessAndAsFailure() throws {
        let result = Agent.Exec.Result(exitStatus: 3, stdout: "a\nb", stderr: "", stdoutTruncated: false, stderrTruncated: true)
        let ok = AgentReply(id: 5, outcome: .success(try StrictJSON.encode(result, what: "result")))
        let back = try AgentCodec.decodeReply(Array(try AgentCodec.encode(ok).dropLast()))
        #expect(try back.result(of: Agent.Exec.self) == result)

        let refusal = PartitionError(.notFound, "The WPAR is not defined.", partition: "web", operation: "activate")
        let failed = AgentReply(id: 6, outcome: .failure(AgentFailure(refusal)))
        let decoded = try AgentCodec.decodeReply(Array(try AgentCodec.encode(failed).dropLast()))
        #expect(throws: refusal) { try decoded.result(of: Agent.Activate.self) }
    }

    @Test(arguments: [
        "garbage", "[1,2]", "\"text\"", "{\"id\":1,\"op\":\"hello\"}", "{\"id\":-1,\"op\":\"hello\",\"args\":{}}",
        "{\"id\":\"1\",\"op\":\"hello\",\"args\":{}}", "{\"id\":1,\"op\":\"hello\",\"args\":[]}",
        "{\"id\":1,\"op\":\"hello\",\"args\":{},\"extra\":true}", "{\"id\":1,\"op\":7,\"args\":{}}",
    ])
    func malformedRequestsAreRefusedAsAgentErrors(text: String) {
        #expect(throws: PartitionError.self) { try AgentCodec.decodeRequest(frame(text)) }
    }

    @Test func requestsCarryTheirProtocolVersionAndFramesWithoutOneAreVersionOne() throws {
        let request = AgentRequest(id: 3, operation: .wparList, arguments: .object([:]))
        let bytes = try AgentCodec.encode(request)
        #expect(String(decoding: bytes, as: UTF8.self).contains("\"v\":\(AgentWire.protocolVersion)"))
        #expect(try AgentCodec.decodeRequest(Array(bytes.dropLast())).version == AgentWire.protocolVersion)
        #expect(try AgentCodec.decodeRequest(frame("{\"id\":3,\"op\":\"sync\",\"args\":{\"token\":\"t\"}}")).version == 1)
        for bad in ["0", "-2", "\"2\"", "2.5", "100000"] {
            #expect(throws: PartitionError.self) {
                try AgentCodec.decodeRequest(frame("{\"v\":\(bad),\"id\":3,\"op\":\"wpar.list\",\"args\":{}}"))
            }
        }
    }

    @Test func anUnknownOperationIsUnsupported() {
        let error = #expect(throws: PartitionError.self) {
            try AgentCodec.decodeRequest(frame("{\"id\":9,\"op\":\"wpar.explode\",\"args\":{}}"))
        }
        #expect(error?.code == .unsupported)
        #expect(AgentCodec.identifierIfAny(frame("{\"id\":9,\"op\":\"wpar.explode\",\"args\":{}}")) == 9)
        #expect(AgentCodec.identifierIfAny(frame("garbage")) == nil)
    }

    @Test(arguments: [
        "{\"id\":1,\"ok\":true}", "{\"id\":1,\"ok\":false,\"result\":{}}", "{\"id\":1,\"ok\":true,\"result\":{},\"error\":{}}",
        "{\"id\":1,\"ok\":\"yes\",\"result\":{}}", "{\"ok\":true,\"result\":{}}",
        "{\"id\":1,\"ok\":false,\"error\":{\"code\":\"x\"}}", "{\"id\":1,\"ok\":true,\"result\":{},\"more\":1}",
    ])
    func malformedRepliesAreRefused(text: String) {
        let error = #expect(throws: PartitionError.self) { try AgentCodec.decodeReply(frame(text)) }
        #expect(error?.code == .agent)
    }

    @Test(arguments: [
        "{\"token\":5}", "{\"token\":\"a\",\"extra\":1}", "{}", "[]",
    ])
    func resultsOfTheWrongShapeAreRefused(text: String) throws {
        let reply = try AgentCodec.decodeReply(frame("{\"id\":1,\"ok\":true,\"result\":\(text)}"))
        let error = #expect(throws: PartitionError.self) { try reply.result(of: Agent.Sync.self) }
        #expect(error?.code == .agent)
    }

    @Test func unknownFieldsNestedInAResultAreRefused() throws {
        let status = "{\"name\":\"web\",\"kind\":\"application\",\"state\":\"running\",\"limits\":{}}"
        let text = "{\"id\":1,\"ok\":true,\"result\":{\"wpars\":[{\"status\":\(status),\"usage\":null,\"x\":1}]}}"
        let reply = try AgentCodec.decodeReply(frame(text))
        let error = #expect(throws: PartitionError.self) { try reply.result(of: Agent.Statuses.self) }
        #expect(error?.message.contains("wpars[0].x") == true)
    }

    @Test func anUnknownErrorCodeBecomesAnAgentErrorWithABoundedMessage() throws {
        let long = String(repeating: "z", count: 50_000)
        let reply = try AgentCodec.decodeReply(frame("{\"id\":1,\"ok\":false,\"error\":{\"code\":\"weird\",\"message\":\"\(long)\"}}"))
        let error = #expect(throws: PartitionError.self) { try reply.result(of: Agent.Hello.self) }
        #expect(error?.code == .agent)
        #expect((error?.message.count ?? .max) <= 1000)
    }

    @Test func deeplyNestedFramesAreRefused() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: PartitionError.self) { try AgentCodec.decodeRequest(frame("{\"id\":1,\"op\":\"hello\",\"args\":{\"a\":\(deep)}}")) }
    }
}

/// The coder the agent and the host use instead of Foundation's writes the JSON Foundation's
/// JSONEncoder wrote (peers of protocol 3 read it), and reads it back equal.
@Suite struct JSONValueCodingTests {
    @Test func typedValuesEncodeAsFoundationsCoderDid() throws {
        var spec = WorkloadSpec(name: try PartitionName("web"), kind: .application, root: .host,
                                command: ["/bin/sh", "-c", "echo \"hi\"\n"],
                                limits: WorkloadLimits(memoryMax: UInt64.max, pidsMax: 32))
        spec.console = true
        let ours = try StrictJSON.encode(spec, what: "spec")
        let foundations = try JSONText.parse(Array(try JSONEncoder().encode(spec)))
        #expect(ours == foundations)
        #expect(try StrictJSON.decode(WorkloadSpec.self, from: foundations, what: "spec") == spec)
        let exec = Agent.Exec.Result(exitStatus: -1, stdout: "ü\u{0}", stderr: "", stdoutTruncated: true, stderrTruncated: false)
        #expect(try StrictJSON.encode(exec, what: "result") == (try JSONText.parse(Array(try JSONEncoder().encode(exec)))))
    }

    @Test func numbersMustFitTheirType() {
        let fraction = #expect(throws: PartitionError.self) {
            try StrictJSON.decode(Agent.Exec.Result.self, from: .object(["exitStatus": .number(1.5), "stdout": .string(""),
                "stderr": .string(""), "stdoutTruncated": .bool(false), "stderrTruncated": .bool(false)]), what: "result")
        }
        #expect(fraction?.message.contains("exitStatus") == true)
        let tooBig = #expect(throws: PartitionError.self) {
            try StrictJSON.decode(Agent.Attach.Arguments.self, from: .object(["name": .string("web"), "mode": .string("login"),
                "argv": .array([]), "terminal": .bool(false), "rows": .integer(70_000)]), what: "arguments")
        }
        #expect(tooBig?.code == .agent)
        #expect(throws: PartitionError.self) { try StrictJSON.encode(Agent.Shutdown.Arguments(name: try PartitionName("web"), within: .nan), what: "x") }
    }
}

/// `system.attach` (login of an LPAR) came within protocol 4: an agent from before it refuses the
/// operation's name, and the host turns that refusal into what to do.
@Suite struct SystemAttachTests {
    @Test func anOlderAgentsRefusalNamesTheRebuild() throws {
        // What an agent without the operation answers: its codec does not know the name.
        var refusal: PartitionError?
        do { _ = try AgentCodec.decodeRequest(Array("{\"v\":4,\"id\":9,\"op\":\"system.attach2\",\"args\":{}}".utf8)) } catch { refusal = error }
        let error = try #require(refusal)
        let explained = Agent.SystemAttach.explainRefusal(error, lpar: "lp1")
        #expect(explained.code == .unsupported)
        #expect(explained.message.contains("rebuild the guest image") && explained.message.contains("partagent .deb"), "\(explained.message)")
        // Other errors pass unchanged.
        let other = PartitionError(.invalidState, "The WPAR is not running.")
        #expect(Agent.SystemAttach.explainRefusal(other, lpar: "lp1") == other)
    }

    @Test func argumentsRoundTrip() throws {
        let arguments = Agent.SystemAttach.Arguments(argv: ["cat", "/proc/1/comm"], terminal: true, rows: 24, columns: 80, term: "xterm")
        let request = try AgentRequest(id: 5, Agent.SystemAttach.self, arguments)
        let decoded = try AgentCodec.decodeRequest(Array(try AgentCodec.encode(request).dropLast()))
        #expect(decoded.operation == .systemAttach)
        #expect(try decoded.arguments(of: Agent.SystemAttach.self) == arguments)
    }
}
