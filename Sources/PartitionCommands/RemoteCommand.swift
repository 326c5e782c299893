import PartitionCore
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// This very command, run by partctl on another managed system over SSH: for that machine's host
/// WPARs, which live there (`-m sys2` naming a system with an SSH destination). ssh replaces this
/// process, so the terminal, the exit status and the output are the remote command's.
enum RemoteCommand {
    /// `arguments` without the options that chose the system, with `-m local` added (before `--`):
    /// on the other machine its own system is `local`.
    static func remoteArguments(_ arguments: [String]) -> [String] {
        var kept: [String] = []
        var index = arguments.startIndex
        while index < arguments.endIndex {
            let argument = arguments[index]
            if argument == "--" { break }
            if argument == "-m" || argument == "--system" || argument == "--connect" {
                index += 2
                continue
            }
            if argument.hasPrefix("--system=") || argument.hasPrefix("--connect=") || (argument.hasPrefix("-m") && !argument.hasPrefix("--")) {
                index += 1
                continue
            }
            kept.append(argument)
            index += 1
        }
        return kept + ["-m", ManagedSystem.localName] + arguments[min(index, arguments.endIndex)...]
    }

    /// One word for the remote shell that ssh hands the command line to.
    static func shellQuoted(_ word: String) -> String {
        "'" + word.split(separator: "'", omittingEmptySubsequences: false).joined(separator: "'\\''") + "'"
    }

    /// ssh's argument vector for `partctl ARGUMENTS` on `destination`.
    static func sshArguments(_ destination: SSHDestination, arguments: [String], terminal: Bool, config: String? = nil) -> [String] {
        ["ssh"] + destination.arguments(batch: false, terminal: terminal, config: config) + ["partctl"] + remoteArguments(arguments).map(shellQuoted)
    }

    /// Replaces this process with ssh; returns only by throwing when ssh cannot be started.
    static func exec(_ destination: SSHDestination) throws(PartitionError) {
        let terminal = isatty(STDIN_FILENO) == 1 && isatty(STDOUT_FILENO) == 1
        let config = getenv("PARTCTL_SSH_CONFIG").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        let argv = sshArguments(destination, arguments: Array(CommandLine.arguments.dropFirst()), terminal: terminal, config: config)
        var pointers = argv.map { strdup($0) } + [nil]
        execvp("ssh", &pointers)
        let cause = String(cString: strerror(errno))
        throw PartitionError(.system, "ssh cannot be started to reach \(destination.destination): \(cause).")
    }
}
