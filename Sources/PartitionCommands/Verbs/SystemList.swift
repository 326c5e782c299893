import ArgumentParser
import PartitionCore
import PartitionModel

struct SystemList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the managed systems: name, URI, whether libvirt answers, its version, CPUs and memory.",
        discussion: """
            Every system is asked at once; one that does not connect within $PARTCTL_SYSTEM_TIMEOUT seconds (10) \
            is listed as not reachable. Fields for -F: \(SystemFields.known.map(\.0).joined(separator: ", ")).
            """)

    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @Flag(name: .long, help: "Print a header line (with -F).") var header = false
    @OptionGroup var output: JSONOption

    func run() throws {
        do {
            let format = try fields.map { spec throws(PartitionError) in try SystemFields.fieldList(spec) }
            let registry = SystemFields.registry()
            let statuses = SystemStatus.probe(try registry.list(), configuration: .fromEnvironment())
            if output.json {
                printLine("[" + statuses.map { SystemFields.json($0, only: format?.fields) }.joined(separator: ",") + "]")
            } else if let format {
                printLine(TextOutput.values(statuses, fields: format.fields, delimiter: format.delimiter, header: header) { field, status in
                    status.field(field).text
                })
            } else {
                let columns = ["name", "uri", "reachable", "libvirt", "cpus", "memory"]
                var rows = [columns.map { $0.uppercased() }]
                for status in statuses { rows.append(columns.map { SystemFields.text($0, of: status) }) }
                printLine(TextOutput.align(rows))
                // Why a system did not answer, one line each, below the table.
                for status in statuses where !status.reachable {
                    printLine("\(status.system.name): \(status.reason ?? "not reachable")")
                }
            }
        } catch {
            throw error.with(operation: "system list")
        }
    }
}
