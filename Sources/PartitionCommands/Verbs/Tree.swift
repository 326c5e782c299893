import ArgumentParser
import PartitionCore
import PartitionModel

struct Tree: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "Show the partition tree: the managed system, its LPARs and WPARs, with states and resources.",
        discussion: """
            --filter keeps the partitions that match and their ancestors (the tree's root always stays). \
            With libvirtd unreachable the host WPARs are still shown; the system's line says why its LPARs are not. \
            With managed systems beyond local ('partctl system list') and no -m or --connect, every system is shown, \
            each from its own root (--json: an array of those roots); one that does not answer is unavailable.
            Example: partctl tree --filter state=running
            """)

    @Argument(help: "Show only the subtree at this path.", completion: .partitionPath) var path: String?
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Only partitions whose field has this value, and their ancestors (repeatable).", valueName: "k=v"))
    var filter: [String] = []
    @Option(name: .customShort("F"), help: ArgumentHelp("With --json: only these fields in each object.", valueName: "fields")) var fields: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try path.map { text throws(PartitionError) in try partitionPath(text, "tree") }
        let filters = try Filters.parse(filter)
        let format = try fields.map { spec throws(PartitionError) in try TextOutput.fieldList(spec) }
        if format != nil && !output.json {
            throw PartitionError(.invalidArgument, "-F restricts the JSON objects of 'tree --json'; for text use 'partctl query -F'.", operation: "tree")
        }
        let manager = try connection.manager()
        // Every managed system: one root each; --json an array of what 'tree --json -m NAME' prints.
        if target == nil, let systems = try manager.spannedSystems() {
            var roots = manager.systemTrees(systems)
            if !filters.isEmpty { roots = roots.map(filters.pruned) }
            printLine(output.json ? "[" + roots.map { JSONOutput.tree($0, only: format?.fields) }.joined(separator: ",") + "]"
                                  : TextOutput.trees(roots))
            return
        }
        var root = try manager.tree(target)
        if !filters.isEmpty { root = filters.pruned(root) }
        printLine(output.json ? JSONOutput.tree(root, only: format?.fields) : TextOutput.tree(root))
    }
}
