import PartitionModel

/// The transport protocol of a forward.
public enum ForwardProtocol: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
    case tcp
    case udp

    public static func < (lhs: ForwardProtocol, rhs: ForwardProtocol) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A published port (docs/forwards.md): connections to `hostPort` on any of the host's own addresses
/// (127.0.0.1 included) go to `address:port`, the partition's address when the forward was added.
/// Stored in `$PARTCTL_ROOT/networks/forwards.json`; nftables' chains are rendered from that file.
public struct Forward: Codable, Sendable, Hashable {
    public var hostPort: Int
    public var proto: ForwardProtocol
    /// The target partition's path: `web`, `lp1`, `lp1/web`.
    public var partition: String
    public var port: Int
    /// Where the host sends the traffic: the partition's own address, or for a nested WPAR its
    /// LPAR's (`via`), whose agent forwards on to the WPAR.
    public var address: IPv4Address
    /// A nested WPAR's LPAR address: the host's rule points there, the guest's on to `address`.
    public var via: IPv4Address?

    public init(hostPort: Int, proto: ForwardProtocol, partition: String, port: Int, address: IPv4Address, via: IPv4Address? = nil) {
        self.hostPort = hostPort
        self.proto = proto
        self.partition = partition
        self.port = port
        self.address = address
        self.via = via
    }

    /// The address and port the host's rule sends to: the LPAR for a nested target (the guest's rule
    /// listens on the same port number there), the partition itself otherwise.
    public var destination: (address: IPv4Address, port: Int) {
        if let via { return (via, hostPort) }
        return (address, port)
    }

    /// "8080/tcp".
    public var hostSide: String { "\(hostPort)/\(proto.rawValue)" }

    /// Whether this forward goes to `path` or (with `nested`) to a WPAR nested in it.
    public func targets(_ path: String, nested: Bool) -> Bool {
        partition == path || (nested && partition.hasPrefix(path + "/"))
    }
}

/// The command line's forms: `8080`, `8080/udp` and `web:80`, `lp1/web:8080`.
public enum ForwardSyntax {
    /// A port number 1–65535 as given on the command line; `what` names it in the refusal.
    public static func port(_ text: Substring, _ what: String) throws(PartitionError) -> Int {
        guard !text.isEmpty, text.count <= 5, text.allSatisfy({ $0.isASCII && $0.isNumber }), let port = Int(text), (1...65535).contains(port) else {
            throw PartitionError(.invalidArgument, "\(what) \(QuotedText.of(String(text.prefix(40)))) is not a port number from 1 to 65535.")
        }
        return port
    }

    /// `8080` or `8080/tcp` or `8080/udp`; no protocol means tcp (`defaultProtocol`) for add, both for remove.
    public static func hostPort(_ text: String) throws(PartitionError) -> (port: Int, proto: ForwardProtocol?) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        let port = try port(parts[0], "The host port")
        guard parts.count == 2 else { return (port, nil) }
        guard let proto = ForwardProtocol(rawValue: String(parts[1])) else {
            throw PartitionError(.invalidArgument, "\(QuotedText.of(String(parts[1].prefix(20)))) is not a protocol: say /tcp or /udp after the host port.")
        }
        return (port, proto)
    }

    /// `web:80` -> (web, 80); the port after the last ':'.
    public static func target(_ text: String) throws(PartitionError) -> (path: PartitionPath, port: Int) {
        guard let colon = text.lastIndex(of: ":") else {
            throw PartitionError(.invalidArgument, "\(QuotedText.of(String(text.prefix(80)))) does not name a partition's port: write PATH:PORT, e.g. web:80.")
        }
        let path = try PartitionPath(String(text[..<colon]))
        guard !path.isRoot else {
            throw PartitionError(.invalidArgument, "A forward goes to a partition, not to the managed system itself: write PATH:PORT, e.g. web:80.")
        }
        return (path, try port(text[text.index(after: colon)...], "The partition's port"))
    }
}
