/// A command to run inside a running WPAR (`partctl login`).
public struct WorkloadCommand: Sendable, Hashable {
    /// argv; empty means the WPAR's shell, /bin/sh.
    public var arguments: [String]
    /// The whole environment; nil means the WPAR's own (its spec's), plus TERM with a terminal.
    public var environment: [String]?
    public var workingDirectory: String
    /// Run it on a new pseudo-terminal relayed to this process's stdin and stdout.
    public var terminal: Bool

    public init(arguments: [String] = [], environment: [String]? = nil, workingDirectory: String = "/", terminal: Bool = false) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.terminal = terminal
    }
}
