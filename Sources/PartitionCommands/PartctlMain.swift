import ArgumentParser
import PartitionCore
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// The root command: `partctl VERB ...`.
public struct Partctl: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "partctl",
        abstract: "Manage logical partitions (libvirt domains) and workload partitions (namespaced process groups) as one tree.",
        discussion: "Partitions are addressed by path: lp1 is an LPAR or a host WPAR, lp1/web a WPAR nested in LPAR lp1, / the managed system.",
        version: PartctlVersion.string,
        groupedSubcommands: [
            CommandGroup(name: "Lifecycle", subcommands: [
                Define.self, Activate.self, Shutdown.self, Force.self, Restart.self, Remove.self,
            ]),
            CommandGroup(name: "Inspect and change", subcommands: [Query.self, Tree.self, Modify.self]),
            CommandGroup(name: "Work inside", subcommands: [Console.self, Login.self, Run.self, Screenshot.self]),
            CommandGroup(name: "Profiles and images", subcommands: [ProfileCommand.self, ImageVerb.self]),
            CommandGroup(name: "Networks", subcommands: [NetworkVerb.self, ForwardCommand.self]),
            CommandGroup(name: "Systems and mobility", subcommands: [Relocate.self, Backup.self, Restore.self]),
        ]
    )

    public init() {}
}

public enum PartctlVersion {
    public static let string = "0.1.0"
}

/// Exit statuses: 0 success, 1 the operation failed, 2 the input was refused (docs/output.md).
///
/// This is the one place that maps errors to statuses. Refused input means that what the command
/// names or asks for is wrong as given, and nothing was created or changed: a malformed value or
/// profile, a value out of its range (including a nested WPAR that does not fit its LPAR), a
/// partition or profile that does not exist, a name already taken, a partition partctl does not
/// manage, an operation that does not apply to that kind of partition. Everything else is an
/// operation that was tried and failed: wrong state, busy, timeout, libvirt, the system, an agent.
enum ExitStatus {
    static let failure: Int32 = 1
    static let refused: Int32 = 2

    static let refusedCodes: Set<PartitionError.Code> = [
        .invalidArgument, .invalidProfile, .outOfRange, .notFound, .alreadyExists, .unmanaged, .unsupported,
    ]

    static func of(_ error: PartitionError) -> Int32 {
        refusedCodes.contains(error.code) ? refused : failure
    }
}

/// Set by commands that take `--json`, so that errors come out in the same format.
nonisolated(unsafe) var errorsAsJSON = false

public enum PartctlMain {
    /// Parses, runs, and turns every error into one line on standard error (or a JSON object
    /// with `--json`) and a non-zero exit status.
    public static func run(arguments: [String]? = nil) -> Never {
        let argv = hoistGlobalOptions(arguments ?? Array(CommandLine.arguments.dropFirst()))
        errorsAsJSON = argv.contains("--json")
        if let refusal = VerbCheck.refusal(argv) {
            report(refusal)
            exit(ExitStatus.refused)
        }
        let command: ParsableCommand
        do {
            if let run = Run.plainForm(argv) {
                try run.validate()
                command = run
            } else {
                command = try Partctl.parseAsRoot(argv)
            }
        } catch {
            exitForParseError(error, arguments: argv)
        }
        do {
            var runnable = command
            try runnable.run()
            exit(0)
        } catch let error as PartitionError {
            report(error)
            exit(ExitStatus.of(error))
        } catch let exitCode as ExitCode {
            exit(exitCode.rawValue)
        } catch {
            exitForParseError(error, arguments: argv)
        }
    }

    /// `partctl --connect URI VERB ...`: the managed system may be named before the verb too; it
    /// then reaches every verb through $PARTCTL_CONNECT, which `--connect` after the verb overrides.
    static func hoistGlobalOptions(_ arguments: [String]) -> [String] {
        var rest = arguments
        while let first = rest.first, first.hasPrefix("--connect") {
            if first == "--connect", rest.count >= 2 {
                setenv("PARTCTL_CONNECT", rest[1], 1)
                rest.removeFirst(2)
            } else if first.hasPrefix("--connect=") {
                setenv("PARTCTL_CONNECT", String(first.dropFirst("--connect=".count)), 1)
                rest.removeFirst()
            } else {
                break
            }
        }
        return rest
    }

    static func report(_ error: PartitionError) {
        if errorsAsJSON {
            printLine(JSONOutput.error(error))
        } else {
            writeStderr("partctl: \(error.description)\n")
        }
    }

    /// Help and version go to stdout with status 0; anything else is one line: what is wrong and where to look.
    static func exitForParseError(_ error: Error, arguments: [String]) -> Never {
        let code = Partctl.exitCode(for: error)
        if code == .success {
            Partctl.exit(withError: error)
        }
        report(refusal(for: error, arguments: arguments))
        exit(ExitStatus.refused)
    }

    /// ArgumentParser's error as partctl's one line: what is wrong, and where to read more.
    static func refusal(for error: Error, arguments: [String]) -> PartitionError {
        var message = Partctl.message(for: error)
        if let newline = message.firstIndex(of: "\n") { message = String(message[..<newline]) }
        if message.hasPrefix("Error: ") { message = String(message.dropFirst(7)) }
        if let first = message.first, first.isLowercase { message = first.uppercased() + message.dropFirst() }
        if !message.hasSuffix(".") { message += "." }
        let verb = arguments.first { !$0.hasPrefix("-") } ?? ""
        let hint = verb.isEmpty ? "partctl --help" : "partctl \(verb) --help"
        return PartitionError(.invalidArgument, "\(message) See '\(hint)'.")
    }
}

func writeStderr(_ text: String) {
    StandardStream.write(text, to: STDERR_FILENO)
}
