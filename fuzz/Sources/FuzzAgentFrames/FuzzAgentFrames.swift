import AgentProtocol
import PartitionModel

/// libFuzzer entry point for the agent protocol as a hostile peer reaches it: channel bytes through
/// `AgentFrameReader`, then every frame through each decoder either side runs on what it receives
/// (requests and their typed arguments on the guest, replies and their typed results and session
/// frames on the host, the id salvage for error replies, the JSON text parser itself).
///
/// A refusal is a `PartitionError`; only a crash, a hang or a broken invariant is a finding. The
/// invariants: how the bytes are split into reads does not change the frames; no frame exceeds the
/// reader's limit; whatever decodes encodes again to bytes that decode to the same value.
func fuzzAgentFrames(_ bytes: [UInt8]) {
    for frame in FuzzFrameSplitting.frames(of: bytes) {
        FuzzDecoding.request(frame)
        FuzzDecoding.reply(frame)
        FuzzDecoding.sessionFrame(frame)
        FuzzDecoding.jsonText(frame)
        _ = AgentCodec.identifierIfAny(frame)
    }
}

func require(_ condition: Bool, _ what: @autoclosure () -> String) {
    if !condition { fatal(what()) }
}

func fatal(_ what: String) -> Never {
    fatalError("FuzzAgentFrames: \(what)")
}
