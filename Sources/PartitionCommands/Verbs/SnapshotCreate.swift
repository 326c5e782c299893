import ArgumentParser
import PartitionCore
import PartitionModel

struct SnapshotCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Take a snapshot of an LPAR (its qcow2 disks, and its memory when it runs) or a system WPAR (its writable layer).",
        discussion: "Without --name it is named s-YYYYMMDD-HHMMSS (UTC). A running partition keeps running; its processes are frozen for the moment of the copy.")

    @Argument(help: "The partition: an LPAR (lp1), a host WPAR (tools) or a nested WPAR (lp1/web).", completion: .partitionPath) var path: String
    @Option(name: .long, help: ArgumentHelp("The snapshot's name: lowercase letters, digits, '-' and '_'.", valueName: "name")) var name: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "snapshot create")
        let snapshot = try name.map { text throws(PartitionError) in try snapshotName(text, "snapshot create") }
        let info = try connection.manager().createSnapshot(target, name: snapshot)
        if output.json {
            printLine(SnapshotFields.json(info))
        } else {
            printLine("\(target): snapshot \(info.name) taken (\(info.content)).")
        }
    }
}
