import ArgumentParser
import PartitionCore

struct Force: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "force",
        abstract: "Stop a partition immediately, without the guest's cooperation (like pulling the plug).")

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try connection.manager().force(try partitionPath(path, "force"))
    }
}
