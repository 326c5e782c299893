import ArgumentParser
import PartitionCore
import PartitionModel

struct SnapshotRevert: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revert",
        abstract: "Bring a partition back to a snapshot; what changed since is lost.",
        discussion: """
            An LPAR comes back as it was: running from the saved memory (its nested WPARs running again), or stopped. \
            A running WPAR is stopped, its writable layer replaced by the snapshot's, and started again; a stopped one stays stopped.
            """)

    @Argument(help: "The partition.", completion: .partitionPath) var path: String
    @Argument(help: "The snapshot's name ('partctl snapshot list PATH').") var name: String
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "snapshot revert")
        try connection.manager().revertSnapshot(target, name: try snapshotName(name, "snapshot revert"))
    }
}
