import AgentProtocol
import PartitionModel
import Testing

/// The snapshot operations on the wire (AgentSnapshot.swift) and what an agent older than them
/// makes the host say.
@Suite struct SnapshotOperationsTests {
    @Test func theOperationsRoundTripStrictly() throws {
        let freeze = try AgentCodec.encode(AgentRequest(id: 7, operation: .wparFreeze,
                                                        arguments: try StrictJSON.encode(Agent.Freeze.Arguments(names: nil), what: "args")))
        let decoded = try AgentCodec.decodeRequest(freeze)
        #expect(decoded.operation == .wparFreeze)
        #expect(try decoded.arguments(of: Agent.Freeze.self).names == nil)
        let snapshot = Agent.Snapshot.Arguments(name: try PartitionName("web"), action: .create, snapshot: try SnapshotName("s1"))
        let frame = try AgentCodec.encode(AgentRequest(id: 8, operation: .wparSnapshot, arguments: try StrictJSON.encode(snapshot, what: "args")))
        #expect(try AgentCodec.decodeRequest(frame).arguments(of: Agent.Snapshot.self) == snapshot)
        // A snapshot name that breaks the rules is refused when decoded, in the guest too.
        let bad = Array(#"{"v":4,"id":9,"op":"wpar.snapshot","args":{"name":"web","action":"create","snapshot":"../x"}}"#.utf8)
        #expect(throws: PartitionError.self) { _ = try AgentCodec.decodeRequest(bad).arguments(of: Agent.Snapshot.self) }
    }

    @Test func anAgentThatPredatesThemIsToldToRebuildTheGuestImage() throws {
        let frame = Array(#"{"v":4,"id":1,"op":"wpar.freeze-from-the-future","args":{}}"#.utf8)
        var refusal: PartitionError?
        do { _ = try AgentCodec.decodeRequest(frame) } catch { refusal = error }
        let explained = Agent.explainSnapshotRefusal(try #require(refusal), lpar: "lp1")
        #expect(explained.code == .unsupported)
        #expect(explained.message.contains("rebuild the guest image (make guest-image)"))
        let other = PartitionError(.invalidArgument, "something else")
        #expect(Agent.explainSnapshotRefusal(other, lpar: "lp1") == other)
    }
}
