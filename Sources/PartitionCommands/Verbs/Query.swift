import ArgumentParser
import PartitionCore
import PartitionModel

struct Query: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "List partitions, or show one.",
        discussion: """
            -F prints values only, separated by the delimiter used in the field list (-F name,state or -F name:state). \
            Fields: \(fieldNames).
            Example: partctl query -F name,state,procs,mem --header
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
    @Flag(name: .long, help: "Print a header line.") var header = false
    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Only partitions whose field has this value (repeatable).", valueName: "k=v"))
    var filter: [String] = []
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try path.map { text throws(PartitionError) in try partitionPath(text, "query") }
        let filters = try Filters.parse(filter)
        let format = try fields.map { spec throws(PartitionError) in try TextOutput.fieldList(spec) }
        var records = try connection.manager().query(target)
        records = records.filter(filters.matches)
        if output.json {
            if target != nil, let record = records.first, records.count == 1 {
                var out = ""
                JSONOutput.record(record, children: false, into: &out)
                printLine(out)
            } else {
                printLine(JSONOutput.records(records))
            }
        } else if let format {
            let text = TextOutput.values(records, fields: format.fields, delimiter: format.delimiter, header: header)
            if !text.isEmpty { printLine(text) }
        } else {
            let text = TextOutput.table(records, columns: TextOutput.defaultColumns, header: header || target == nil)
            if !text.isEmpty { printLine(text) }
        }
    }
}

/// `--filter state=running --filter kind=lpar`: all must match.
struct Filters {
    var conditions: [(String, String)]

    static func parse(_ specs: [String]) throws(PartitionError) -> Filters {
        var conditions: [(String, String)] = []
        for spec in specs {
            guard let equals = spec.firstIndex(of: "="), equals != spec.startIndex else {
                throw PartitionError(.invalidArgument, "--filter '\(spec)' is not of the form field=value.")
            }
            let key = String(spec[..<equals])
            try PartitionRecord.checkField(key, option: "--filter")
            conditions.append((key, String(spec[spec.index(after: equals)...])))
        }
        return Filters(conditions: conditions)
    }

    func matches(_ record: PartitionRecord) -> Bool {
        conditions.allSatisfy { key, value in record.field(key)?.text == value }
    }
}
