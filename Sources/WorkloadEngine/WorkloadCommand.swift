/// A command to run inside a running WPAR (`partctl login`).
public struct WorkloadCommand: Sendable, Hashable {
    /// argv; empty means the WPAR's shell, /bin/sh.
    public var arguments: [String]
    /// The whole environment; nil means the WPAR's own (its spec's), plus TERM with a terminal.
    public var environment: [String]?
    public var workingDirectory: String
    /// Run it on a new pseudo-terminal relayed to this process's stdin and stdout.
    public var terminal: Bool
    /// The size that terminal starts with, when the caller's own terminal is elsewhere (the agent's
    /// host); nil follows this process's stdin when it is a terminal.
    public var terminalSize: TerminalSize?

    public init(arguments: [String] = [], environment: [String]? = nil, workingDirectory: String = "/", terminal: Bool = false,
                terminalSize: TerminalSize? = nil) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.terminal = terminal
        self.terminalSize = terminalSize
    }
}

/// A terminal's size in character cells.
public struct TerminalSize: Sendable, Hashable, Codable {
    public var rows: UInt16
    public var columns: UInt16

    public init(rows: UInt16, columns: UInt16) {
        self.rows = rows
        self.columns = columns
    }
}
