import AgentProtocol
import Testing

@Suite struct FrameReaderTests {
    private func drain(_ reader: inout AgentFrameReader) -> [AgentFrameReader.Event] {
        var events: [AgentFrameReader.Event] = []
        while let event = reader.next() { events.append(event) }
        return events
    }

    @Test(arguments: [1, 2, 3, 7, 100])
    func framesSplitAcrossChunksComeOutWhole(chunkSize: Int) {
        let text = Array("{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}\n".utf8)
        var reader = AgentFrameReader(limit: 64)
        var events: [AgentFrameReader.Event] = []
        var start = 0
        while start < text.count {
            reader.append(text[start..<min(start + chunkSize, text.count)])
            events += drain(&reader)
            start += chunkSize
        }
        #expect(events == [.frame(Array("{\"a\":1}".utf8)), .frame(Array("{\"b\":2}".utf8)), .frame(Array("{\"c\":3}".utf8))])
    }

    @Test func anOversizedLineIsReportedOnceAndReadingResumesAtTheNextNewline() {
        var reader = AgentFrameReader(limit: 8)
        reader.append(Array(repeating: UInt8(ascii: "x"), count: 5000))
        #expect(reader.bufferedCount <= 8)
        reader.append(Array("yyyy\nok\n".utf8))
        #expect(drain(&reader) == [.oversized, .frame(Array("ok".utf8))])
    }

    @Test func aLineOfExactlyTheLimitIsAFrame() {
        var reader = AgentFrameReader(limit: 4)
        reader.append(Array("abcd\nabcde\nz\n".utf8))
        #expect(drain(&reader) == [.frame(Array("abcd".utf8)), .oversized, .frame(Array("z".utf8))])
    }

    @Test func anUnfinishedFrameStaysBuffered() {
        var reader = AgentFrameReader()
        reader.append(Array("{\"id\":1".utf8))
        #expect(reader.next() == nil)
        #expect(reader.bufferedCount == 7)
    }
}
