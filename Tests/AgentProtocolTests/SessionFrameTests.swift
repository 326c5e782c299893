import AgentProtocol
import PartitionModel
import Testing

@Suite struct SessionFrameTests {
    @Test(arguments: [[], [0], [0, 1], [0, 1, 2], Array(0...255), Array(repeating: 0xFF, count: 1000)] as [[UInt8]])
    func base64RoundTrips(bytes: [UInt8]) {
        #expect(Base64.decode(Base64.encode(bytes)) == bytes)
    }

    @Test func base64IsTheStandardAlphabetWithPadding() {
        #expect(Base64.encode(Array("partctl".utf8)) == "cGFydGN0bA==")
        #expect(Base64.decode("cGFydGN0bA==") == Array("partctl".utf8))
        for bad in ["cGFydGN0bA=", "cGFy*GN0", "====", "cG=ydGN0", "abc"] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }

    @Test(arguments: [
        AgentSessionFrame.input(Array("ls\n".utf8)), .endOfInput, .detach, .output(fd: 2, [0, 255, 10]),
        .exit(status: 137), .closed(reason: "The WPAR stopped."),
    ])
    func framesRoundTrip(frame: AgentSessionFrame) throws {
        let bytes = try AgentCodec.encode(frame)
        #expect(bytes.last == UInt8(ascii: "\n"))
        #expect(try AgentCodec.decodeSessionFrame(Array(bytes.dropLast())) == frame)
    }

    @Test(arguments: [
        "{\"session\":\"input\"}", "{\"session\":\"input\",\"data\":\"***\"}", "{\"session\":\"output\",\"data\":\"AA==\"}",
        "{\"session\":\"output\",\"fd\":3,\"data\":\"AA==\"}", "{\"session\":\"exit\",\"status\":256}",
        "{\"session\":\"exit\",\"status\":-1}", "{\"session\":\"detach\",\"data\":\"AA==\"}", "{\"session\":\"explode\"}",
        "{\"data\":\"AA==\"}", "{\"session\":\"eof\",\"more\":1}",
    ])
    func malformedFramesAreRefused(text: String) {
        let error = #expect(throws: PartitionError.self) { try AgentCodec.decodeSessionFrame(Array(text.utf8)) }
        #expect(error?.code == .agent)
    }

    @Test func aFrameCarriesAtMostOneChunk() throws {
        let big = Base64.encode(Array(repeating: UInt8(7), count: AgentWire.sessionChunk + 1))
        #expect(throws: PartitionError.self) {
            try AgentCodec.decodeSessionFrame(Array("{\"session\":\"input\",\"data\":\"\(big)\"}".utf8))
        }
    }
}
