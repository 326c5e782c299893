import AgentProtocol
import Foundation
import PartctlTestSupport
import Testing

/// Found while fuzzing the frame reader (make fuzz, FuzzAgentFrames): by reading what it reaches,
/// since its inputs stay too short to show it; an input of that shape is kept in fuzz/corpus/agent-frames/.
@Suite struct FrameReaderFuzzFindingTests {
    /// A peer that sends many tiny frames in one read: taking each frame out of the queue used to
    /// shift all the frames behind it, so a 1 MiB read of "a\n" cost ~10^11 moves. A hostile guest
    /// could make the host spend seconds of CPU per 64 KiB it sent.
    @Test func manyTinyFramesInOneReadTakeLinearTime() {
        let frames = 1 << 19
        let count = withinSeconds(10) { () -> Int? in
            var reader = AgentFrameReader()
            reader.append([UInt8](repeating: 0, count: frames * 2).enumerated().map { $0.offset % 2 == 0 ? UInt8(ascii: "a") : 10 })
            var count = 0
            while case .frame(let frame)? = reader.next() {
                guard frame == [UInt8(ascii: "a")] else { return nil }
                count += 1
            }
            return count
        }.value ?? nil
        #expect(count == frames, "nil: a wrong frame, or not done within 10 s")
    }

    /// Each frame used to keep the reader's whole buffer: after one frame of 1 MiB, every later frame,
    /// even of one byte, held 1 MiB of its own, so 1 MiB of "a\n" after it asked for 512 GiB
    /// (the fuzz harness took 77 s and 1.5 GB of memory for a 1 MiB input).
    @Test func aFrameAfterAHugeOneHoldsOnlyItsOwnBytes() {
        var reader = AgentFrameReader()
        reader.append([UInt8](repeating: UInt8(ascii: "x"), count: AgentWire.frameLimit) + [10])
        reader.append(Array("a\nbc\n".utf8))
        guard case .frame(let huge)? = reader.next(), case .frame(let small)? = reader.next(), case .frame(let other)? = reader.next() else {
            Issue.record("three frames expected")
            return
        }
        #expect(huge.count == AgentWire.frameLimit)
        #expect(small == [UInt8(ascii: "a")] && other == Array("bc".utf8))
        #expect(small.capacity < 4096 && other.capacity < 4096, "capacities \(small.capacity), \(other.capacity)")
    }
}
