import PartitionCore
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// The user's terminal as partctl's verbs meet it: this process's stdin, stdout and stderr. The
/// one place that decides raw mode and prints what consoles and logins tell the user.
struct CommandTerminal: UserTerminal {
    var isInteractive: Bool { isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1 }

    var windowSize: (rows: UInt16, columns: UInt16)? { RawTerminal.windowSize() }

    func withRawMode<Result>(_ body: () throws(PartitionError) -> Result) throws(PartitionError) -> Result {
        try RawTerminal.withRawMode(body)
    }

    func consoleAttached(_ path: PartitionPath) {
        StandardStream.write("partctl: connected to \(path)'s console; type ~. at the start of a line to leave.\n", to: STDERR_FILENO)
    }

    func passOn(stdout: String, stderr: String) {
        StandardStream.write(stdout, to: STDOUT_FILENO)
        StandardStream.write(stderr, to: STDERR_FILENO)
    }

    /// The line after a console session: why it ended when the partition's side closed it.
    func consoleEnded(_ path: PartitionPath, _ ending: ConsoleEnding) {
        switch ending {
        case .left: StandardStream.write("\n", to: STDERR_FILENO)
        case .closed(nil): StandardStream.write("\npartctl: the console of \(path) closed.\n", to: STDERR_FILENO)
        case .closed(let reason?): StandardStream.write("\npartctl: the console of \(path) closed: \(reason)\n", to: STDERR_FILENO)
        }
    }
}

/// A warning while a verb runs, on one line naming the partition and the verb.
func printWarning(_ warning: PartitionWarning) {
    let path = warning.path.map { "\($0): " } ?? ""
    StandardStream.write("partctl: \(path)\(warning.operation): warning: \(warning.message)\n", to: STDERR_FILENO)
}
