import ArgumentParser
import PartitionCore

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Shut a partition down and activate it again.")

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Flag(name: .long, help: "Stop immediately instead of gracefully.") var immed = false
    @Option(name: .long, help: "Seconds to wait for a graceful stop (default 60).") var within: Int = 60
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (0...86_400).contains(within) else {
            throw ValidationError("--within must be between 0 and 86400 seconds, not \(within)")
        }
    }

    func run() throws {
        try connection.manager().restart(try partitionPath(path, "restart"), immediate: immed, within: within)
    }
}
