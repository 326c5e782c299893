import AgentProtocol

/// The reader's side of the invariants: the same bytes read at once, in small uneven reads, and by a
/// reader with a tiny limit.
enum FuzzFrameSplitting {
    static let smallLimit = 40

    /// The frames of `bytes` as the protocol's reader yields them, after checking that reads of
    /// other sizes yield the same events and that a small limit is held.
    static func frames(of bytes: [UInt8]) -> [[UInt8]] {
        var whole = AgentFrameReader()
        whole.append(bytes)
        let events = drain(&whole)

        var pieces = AgentFrameReader()
        var start = 0, step = 1
        while start < bytes.count {
            let end = min(bytes.count, start + step)
            pieces.append(bytes[start..<end])
            start = end
            step = step % 13 + 1
        }
        require(drain(&pieces) == events, "reading the same bytes in other pieces yields other frames")
        require(pieces.bufferedCount == whole.bufferedCount, "reading in pieces leaves another partial frame")

        var small = AgentFrameReader(limit: smallLimit)
        small.append(bytes)
        require(small.bufferedCount <= smallLimit, "the reader holds more than its limit")
        for event in drain(&small) {
            if case .frame(let frame) = event {
                require(frame.count <= smallLimit && !frame.isEmpty, "a frame of \(frame.count) bytes from a reader limited to \(smallLimit)")
                require(!frame.contains(10), "a frame holds a newline")
            }
        }
        return events.compactMap { event in
            if case .frame(let frame) = event { return frame }
            return nil
        }
    }

    static func drain(_ reader: inout AgentFrameReader) -> [AgentFrameReader.Event] {
        var events: [AgentFrameReader.Event] = []
        while let event = reader.next() { events.append(event) }
        return events
    }
}
