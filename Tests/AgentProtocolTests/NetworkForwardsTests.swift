import AgentProtocol
import PartitionModel
import Testing

/// `network.forwards` on the wire (the network contract's shape), its checks, and what an agent
/// that predates it makes the host say.
@Suite struct NetworkForwardsTests {
    func forward(_ proto: String = "tcp", _ port: Int = 8081, _ address: String = "10.78.0.2", _ target: Int = 8080) -> Agent.NetworkForwards.Forward {
        .init(proto: proto, port: port, address: IPv4Address(address)!, targetPort: target)
    }

    @Test func theRequestCarriesTheContractsFieldNames() throws {
        let request = try AgentRequest(id: 7, Agent.NetworkForwards.self, .init(forwards: [forward()]))
        let text = String(decoding: try AgentCodec.encode(request), as: UTF8.self)
        #expect(text.contains("\"op\":\"network.forwards\""))
        #expect(text.contains("\"target_port\":8080"))
        #expect(text.contains("\"address\":\"10.78.0.2\""))
        let decoded = try AgentCodec.decodeRequest(Array(try AgentCodec.encode(request).dropLast()))
        #expect(try decoded.arguments(of: Agent.NetworkForwards.self).forwards == [forward()])
    }

    @Test func aForwardWithAnUnknownFieldOrABadAddressIsRefusedOnReceipt() throws {
        for arguments in [#"{"forwards":[{"proto":"tcp","port":1,"address":"10.78.0.2","target_port":2,"via":"x"}]}"#,
                          #"{"forwards":[{"proto":"tcp","port":1,"address":"10.78.0.256","target_port":2}]}"#] {
            let frame = Array(#"{"v":4,"id":1,"op":"network.forwards","args":\#(arguments)}"#.utf8)
            let request = try AgentCodec.decodeRequest(frame)
            #expect(throws: PartitionError.self) { try request.arguments(of: Agent.NetworkForwards.self) }
        }
    }

    @Test func theSetIsCheckedWhole() {
        #expect(Agent.NetworkForwards.problem(of: []) == nil)
        #expect(Agent.NetworkForwards.problem(of: [forward(), forward("udp")]) == nil)
        #expect(Agent.NetworkForwards.problem(of: [forward("sctp")])?.contains("tcp or udp") == true)
        #expect(Agent.NetworkForwards.problem(of: [forward("tcp", 0)])?.contains("between 1 and 65535") == true)
        #expect(Agent.NetworkForwards.problem(of: [forward("tcp", 80, "10.78.0.2", 70000)])?.contains("between 1 and 65535") == true)
        // Only a nested WPAR's address: not the gateway, not outside the guest network.
        #expect(Agent.NetworkForwards.problem(of: [forward("tcp", 80, "10.78.0.1")])?.contains("not a nested WPAR's address") == true)
        #expect(Agent.NetworkForwards.problem(of: [forward("tcp", 80, "192.168.122.1")])?.contains("not a nested WPAR's address") == true)
        #expect(Agent.NetworkForwards.problem(of: [forward(), forward("tcp", 8081, "10.78.0.3")])?.contains("forwarded twice") == true)
    }

    @Test func anAgentThatPredatesItIsToldToRebuildTheGuestImage() throws {
        // What an older agent answers: its codec's refusal of an operation name it does not know.
        let frame = Array(#"{"v":4,"id":1,"op":"network.forwards-from-the-future","args":{}}"#.utf8)
        var refusal: PartitionError?
        do { _ = try AgentCodec.decodeRequest(frame) } catch { refusal = error }
        let error = try #require(refusal)
        let explained = Agent.NetworkForwards.explainRefusal(error, lpar: "lp1")
        #expect(explained.message.contains("rebuild the guest image (make guest-image)"))
        #expect(explained.code == .unsupported)
        // Anything else passes unchanged.
        let other = PartitionError(.invalidArgument, "something else")
        #expect(Agent.NetworkForwards.explainRefusal(other, lpar: "lp1") == other)
    }

    @Test func theGuestNetworkHandsOutDotTwoToDotTwoHundredFiftyFour() {
        #expect(Agent.GuestNetwork.assignable.lowerBound == IPv4Address("10.78.0.2"))
        #expect(Agent.GuestNetwork.assignable.upperBound == IPv4Address("10.78.0.254"))
    }
}
