import ArgumentParser
import PartitionCore
import PartitionModel

struct Restart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restart",
        abstract: "Shut a partition down and activate it again.",
        discussion: """
            The graceful stop waits up to --within seconds; when it runs out, --force kills the partition \
            and the restart goes on, without --force the partition is left running (exit status 1).
            """)

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Flag(name: .long, help: "Stop immediately instead of gracefully.") var immed = false
    @Flag(name: .long, help: "Stop immediately when --within runs out.") var force = false
    @Option(name: .long, help: "Seconds to wait for a graceful stop (default 60).") var within: Int = 60
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (1...86_400).contains(within) else {
            throw ValidationError("--within must be between 1 and 86400 seconds, not \(within) (use --immed to stop at once)")
        }
    }

    func run() throws {
        let target = try partitionPath(path, "restart")
        let manager = try connection.manager()
        try LifecycleReport(path: target, json: output.json).run(manager, done: "restarted") { () throws(PartitionError) in
            try manager.restart(target, immediate: immed, within: within, force: force)
            return .running
        }
    }
}
