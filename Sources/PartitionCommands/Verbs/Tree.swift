import ArgumentParser
import PartitionCore
import PartitionModel

struct Tree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "Show the partition tree: the managed system, its LPARs and WPARs, with states and resources.")

    @Argument(help: "Show only the subtree at this path.", completion: .partitionPath) var path: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try path.map { text throws(PartitionError) in try partitionPath(text, "tree") }
        let root = try connection.manager().tree(target)
        printLine(output.json ? JSONOutput.tree(root) : TextOutput.tree(root))
    }
}
