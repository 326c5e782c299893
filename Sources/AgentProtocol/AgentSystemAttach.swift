import PartitionModel

extension Agent {
    /// Starts a session on the channel (see `AgentSessionFrame`) with a command run as root in the
    /// guest itself, outside every WPAR (`partctl login LPAR`): stdio streamed both ways, through a
    /// pseudo-terminal of the guest when `terminal`. The reply comes before the first session frame.
    /// Added within protocol 4: an older agent refuses the operation's name, which the host explains.
    public enum SystemAttach: AgentCall {
        public static let operation = AgentOperation.systemAttach
        public struct Arguments: Codable, Sendable, Hashable {
            public var argv: [String]
            public var terminal: Bool
            /// The host terminal's size and type, which the guest's terminal starts with; nil without one.
            public var rows: UInt16?
            public var columns: UInt16?
            public var term: String?
            public init(argv: [String], terminal: Bool = false, rows: UInt16? = nil, columns: UInt16? = nil, term: String? = nil) {
                self.argv = argv
                self.terminal = terminal
                self.rows = rows
                self.columns = columns
                self.term = term
            }
        }
        public typealias Result = AgentEmpty

        /// An agent older than the operation refuses its name; that refusal says what to do instead.
        public static func explainRefusal(_ error: PartitionError, lpar: String) -> PartitionError {
            guard error.code == .unsupported, error.message.contains("is not part of protocol") else { return error }
            return PartitionError(.unsupported,
                "The agent in \(lpar) is older than 'login' of an LPAR: rebuild the guest image ('make guest-image') or install the partagent .deb in the guest, and restart the agent.",
                partition: lpar)
        }
    }
}
