import ArgumentParser
import PartitionCore

struct Modify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "modify",
        abstract: "Change a partition's attributes, live and/or in its definition.",
        discussion: """
            LPAR attributes: min_mem, desired_mem, max_mem, min_procs, desired_procs, max_procs, weight, cap, autostart. \
            WPAR attributes: cpu_weight, cpu_max, memory_high, memory_max, pids_max, autostart.
            --live changes the running partition (desired_procs and desired_mem stay within min/max); --config changes \
            the definition. Without either, the definition is changed, and the running partition too when it runs.
            Example: partctl modify lp1 -i "desired_procs=2,desired_mem=384MiB" --live
            """)

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Option(name: .customShort("i"), help: ArgumentHelp("Attributes to change.", valueName: "k=v,...")) var attributes: String
    @Flag(name: .long, help: "Change the running partition.") var live = false
    @Flag(name: .long, help: "Change the stored definition.") var config = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try connection.manager().modify(try partitionPath(path, "modify"), attributes: attributes, live: live, config: config)
    }
}
