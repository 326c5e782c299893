import ArgumentParser
import PartitionCore

struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Delete a partition's definition.",
        discussion: "Refused while the partition is active, unless --force, which stops it immediately first.")

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Flag(name: .long, help: "Stop an active partition immediately, then remove it.") var force = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try connection.manager().remove(try partitionPath(path, "remove"), force: force)
    }
}
