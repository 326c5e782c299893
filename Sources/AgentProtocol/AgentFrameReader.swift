/// Splits the bytes of a channel into newline-terminated frames of at most `limit` bytes.
///
/// The buffer never holds more than `limit` bytes: a longer line is reported once as `.oversized`
/// and its remaining bytes are dropped up to the next newline, where reading resynchronises. Empty
/// lines are skipped, so a peer may send "\n" to end whatever partial frame the other side holds.
public struct AgentFrameReader: Sendable {
    public enum Event: Sendable, Hashable {
        /// One frame, without its newline.
        case frame([UInt8])
        /// A line longer than the limit was dropped.
        case oversized
    }

    public let limit: Int
    private var buffer: [UInt8] = []
    /// Bytes of the current line still being dropped after it went over the limit.
    private var discarding = false
    /// Events not yet taken, from `taken` on: taking one moves nothing, so a read holding thousands
    /// of tiny frames costs linear time, not quadratic (`removeFirst` shifted all the rest).
    private var pending: [Event] = []
    private var taken = 0

    public init(limit: Int = AgentWire.frameLimit) {
        precondition(limit > 0)
        self.limit = limit
    }

    /// Takes in bytes as they arrived; frames they complete come out of `next()`.
    public mutating func append<Bytes: Sequence<UInt8>>(_ bytes: Bytes) {
        for byte in bytes {
            if byte == AgentWire.newline {
                if discarding {
                    discarding = false
                } else if !buffer.isEmpty {
                    pending.append(.frame(buffer))
                }
                // A fresh buffer, not `removeAll(keepingCapacity:)`: the frame just queued shares the
                // old storage, so keeping capacity gave every later frame, even of one byte, a
                // storage as large as the largest frame so far (up to the limit, 1 MiB).
                buffer = []
            } else if !discarding {
                if buffer.count == limit {
                    buffer.removeAll()
                    discarding = true
                    pending.append(.oversized)
                } else {
                    buffer.append(byte)
                }
            }
        }
    }

    /// The oldest complete frame (or oversize report), or nil until more bytes arrive.
    public mutating func next() -> Event? {
        guard taken < pending.count else { return nil }
        let event = pending[taken]
        taken += 1
        if taken == pending.count {
            pending.removeAll(keepingCapacity: true)
            taken = 0
        }
        return event
    }

    /// Bytes of an unfinished frame held now (for tests and diagnostics).
    public var bufferedCount: Int { buffer.count }
}

/// Constants of the wire format.
public enum AgentWire {
    /// The version of this contract, carried by every request (`v`). An agent refuses requests of
    /// another version; version 2 added `v`, the agent's version in the sync echo and the session
    /// operations (interactive login and console); version 3 the terminal size of a login session;
    /// version 4 the channel pool (the agent serves every `org.partctl.agent.N` port at once, so a
    /// host may use any of them) and the error codes taken from `PartitionError.Code` itself.
    public static let protocolVersion = 4
    /// The versions an agent answers: a host of version 3 uses only the first channel, and every
    /// frame of version 3 means the same in version 4.
    public static let servedVersions = 3...4
    /// The longest frame either side accepts, newline excluded.
    public static let frameLimit = 1 << 20
    /// How much of a command's stdout and of its stderr `wpar.exec` returns.
    public static let outputLimit = 256 << 10
    /// The most data one session frame carries (before base64).
    public static let sessionChunk = 16 << 10
    /// The virtio-serial channel name in the LPAR's domain XML: the first of the pool, the only one
    /// of LPARs defined before the pool existed.
    public static let channelName = "org.partctl.agent.0"
    /// Where the first channel appears inside the guest.
    public static let guestPortPath = "/dev/virtio-ports/org.partctl.agent.0"
    /// How many agent channels a newly defined LPAR gets (`org.partctl.agent.0` to `.3`). libvirt
    /// lets one client hold a channel at a time, so each host command takes a free one and four
    /// commands (a console, logins, a query, the tree) can talk to one agent at once.
    public static let channelCount = 4

    /// The name of agent channel `index` in the domain XML.
    public static func channelName(_ index: Int) -> String { "org.partctl.agent.\(index)" }

    /// Where agent channel `index` appears inside the guest.
    public static func guestPortPath(_ index: Int) -> String { "/dev/virtio-ports/" + channelName(index) }

    /// The index of an agent channel's name, nil for any other name.
    public static func channelIndex(_ name: String) -> Int? {
        guard name.hasPrefix("org.partctl.agent."), let index = Int(name.dropFirst("org.partctl.agent.".count)),
              index >= 0, index < 64, channelName(index) == name else { return nil }
        return index
    }
    static let newline = UInt8(ascii: "\n")
    /// Nesting deeper than this is refused before any typed decoding.
    static let maximumDepth = 16
}
