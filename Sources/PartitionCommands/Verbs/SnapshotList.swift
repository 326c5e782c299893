import ArgumentParser
import PartitionCore
import PartitionModel

struct SnapshotList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a partition's snapshots, oldest first.",
        discussion: "Fields for -F: \(SnapshotFields.known.map(\.0).joined(separator: ", ")).")

    @Argument(help: "The partition: an LPAR, a host WPAR or a nested WPAR.", completion: .partitionPath) var path: String
    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @Flag(name: .long, help: "Print a header line (with -F).") var header = false
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let target = try partitionPath(path, "snapshot list")
            let format = try fields.map { spec throws(PartitionError) in
                try TextOutput.fieldList(spec, known: SnapshotFields.known.map(\.0), noun: "a snapshot")
            }
            let snapshots = try connection.manager().snapshots(target)
            if output.json {
                printLine("[" + snapshots.map { SnapshotFields.json($0, only: format?.fields) }.joined(separator: ",") + "]")
            } else if let format {
                let text = TextOutput.values(snapshots, fields: format.fields, delimiter: format.delimiter, header: header) { field, snapshot in
                    SnapshotFields.value(field, of: snapshot).text
                }
                if !text.isEmpty { printLine(text) }
            } else {
                var rows = [["NAME", "CREATED", "STATE", "CONTENT", "CURRENT"]]
                for snapshot in snapshots {
                    rows.append(["name", "created", "state", "content", "current"].map { SnapshotFields.value($0, of: snapshot).text })
                }
                printLine(TextOutput.align(rows))
            }
        } catch {
            throw error.with(operation: "snapshot list")
        }
    }
}
