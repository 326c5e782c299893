import ArgumentParser
import PartitionCore
import PartitionModel

struct SnapshotRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a snapshot; the partition itself is not changed.")

    @Argument(help: "The partition.", completion: .partitionPath) var path: String
    @Argument(help: "The snapshot's name.") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "snapshot remove")
        try connection.manager().removeSnapshot(target, name: try snapshotName(name, "snapshot remove"))
    }
}
