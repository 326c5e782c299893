import ArgumentParser
import PartitionCore
import PartitionModel

struct Shutdown: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shutdown",
        abstract: "Stop a partition gracefully: ACPI power button for an LPAR, SIGTERM to a WPAR's init.",
        discussion: """
            Waits up to --within seconds for the partition to stop. When time runs out, --force stops it \
            immediately; without --force it is left running (exit status 1). --within 0 needs --force \
            (an immediate stop). --no-wait returns once the stop is asked for (state `stopping`).
            """)

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Option(name: .long, help: "Seconds to wait for the partition to stop (default 60; 0 only with --force).") var within: Int = 60
    @Flag(name: .long, help: "Stop immediately when --within runs out.") var force = false
    @Flag(name: .long, inversion: .prefixedNo, help: "Wait until the partition has stopped.") var wait = true
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        guard (0...86_400).contains(within) else {
            throw ValidationError("--within must be between 0 and 86400 seconds, not \(within)")
        }
        guard within > 0 || force else {
            throw ValidationError("--within 0 gives the partition no time to stop; add --force to stop it at once, or use --no-wait")
        }
        guard wait || !force else {
            throw ValidationError("--force needs a waiting shutdown; drop --no-wait")
        }
    }

    func run() throws {
        let target = try partitionPath(path, "shutdown")
        let manager = try connection.manager()
        try LifecycleReport(path: target, json: output.json).run(manager, done: wait ? "stopped" : "stop requested") { () throws(PartitionError) in
            try manager.shutdown(target, within: within, force: force, wait: wait)
            return wait ? .defined : .stopping
        }
    }
}
