import ArgumentParser
import PartitionCore

struct Shutdown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown",
        abstract: "Stop a partition gracefully: ACPI power button for an LPAR, SIGTERM to a WPAR's init.",
        discussion: "Waits up to --within seconds for the partition to stop; with --force, escalates to an immediate stop when time runs out.")

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Option(name: .long, help: "Seconds to wait for the partition to stop (default 60).") var within: Int = 60
    @Flag(name: .long, help: "Stop immediately when --within runs out.") var force = false
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (0...86_400).contains(within) else {
            throw ValidationError("--within must be between 0 and 86400 seconds, not \(within)")
        }
    }

    func run() throws {
        try connection.manager().shutdown(try partitionPath(path, "shutdown"), within: within, force: force)
    }
}
