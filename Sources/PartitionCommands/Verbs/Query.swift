import ArgumentParser
import PartitionCore
import PartitionModel

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List partitions, or show one.",
        discussion: """
            -F prints values only, separated by the delimiter used in the field list (-F name,state or -F name:state); \
            with --pairs it prints field=value pairs that 'modify -i' takes unchanged; with --json it restricts the objects \
            to those fields. --filter compares case-insensitively with the JSON value or the text form. \
            Fields: \(fieldNames).
            Example: partctl query -F path,state,procs,mem --header
            Example: partctl modify lp1 -i "$(partctl query lp1 -F desired_mem,max_mem --pairs)"
            """)

    /// "name, path, ...". Built on every start with the command tree, so by a plain loop:
    /// joined(separator:) is not specialized here and resolves its associated types at run time.
    private static var fieldNames: String {
        var names = ""
        for (name, _) in PartitionRecord.knownFields {
            names += names.isEmpty ? name : ", " + name
        }
        return names
    }

    @Argument(help: "A partition's path; all partitions when omitted.", completion: .partitionPath) var path: String?
    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @Flag(name: .long, help: "With -F: print field=value pairs, as 'modify -i' takes them (absent values are left out).")
    var pairs = false
    @Flag(name: .long, help: "Print a header line.") var header = false
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Only partitions whose field has this value (repeatable).", valueName: "k=v"))
    var filter: [String] = []
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try path.map { text throws(PartitionError) in try partitionPath(text, "query") }
        let filters = try Filters.parse(filter)
        let format = try fields.map { spec throws(PartitionError) in try TextOutput.fieldList(spec) }
        if pairs && format == nil {
            throw PartitionError(.invalidArgument, "--pairs needs -F naming the fields to print.", operation: "query")
        }
        if target != nil && !filters.isEmpty {
            throw PartitionError(.invalidArgument,
                "--filter selects among partitions; with a PATH there is one. Use 'partctl query --filter' or 'partctl tree PATH --filter'.",
                operation: "query")
        }
        let manager = try connection.manager()
        // Every managed system when more than local is registered and none was chosen (-m, --connect).
        let systems = target == nil ? try manager.spannedSystems() : nil
        let listed = try systems.map { manager.systemTrees($0).flatMap { $0.flattened() } } ?? manager.query(target)
        let records = listed.filter(filters.matches)
        if output.json {
            // One partition is an object, a list is an array (also an empty one).
            if target != nil, let record = records.first {
                printLine(JSONOutput.object(record, only: format?.fields))
            } else {
                printLine(JSONOutput.records(records, only: format?.fields))
            }
        } else if let format {
            let text = pairs ? TextOutput.pairs(records, fields: format.fields)
                : TextOutput.values(records, fields: format.fields, delimiter: format.delimiter, header: header)
            if !text.isEmpty { printLine(text) }
        } else {
            let columns = (systems == nil ? [] : ["system"]) + TextOutput.defaultColumns
            let text = TextOutput.table(records, columns: columns, header: header || target == nil)
            if !text.isEmpty { printLine(text) }
        }
    }
}
