import PartitionModel

/// What consoles and logins need of the user's terminal. The command layer provides it
/// (PartitionCommands' CommandTerminal): PartitionCore decides nothing about the terminal and
/// prints nothing itself.
public protocol UserTerminal {
    /// Whether stdin and stdout are both terminals: a login then gets a terminal in the partition.
    var isInteractive: Bool { get }
    /// The size of the user's terminal, when it is one and knows its size.
    var windowSize: (rows: UInt16, columns: UInt16)? { get }
    /// Runs `body` with the terminal in raw mode, restored afterwards; just runs it when stdin is no terminal.
    func withRawMode<Result>(_ body: () throws(PartitionError) -> Result) throws(PartitionError) -> Result
    /// The console of `path` is attached: the user is told how to leave.
    func consoleAttached(_ path: PartitionPath)
    /// Passes on what a command that ran without a terminal wrote.
    func passOn(stdout: String, stderr: String)
}

/// A warning the user should see (a privileged WPAR), reported while the verb runs.
public struct PartitionWarning: Sendable, Equatable {
    public var path: PartitionPath?
    public var operation: String
    public var message: String
}
