import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionNetworks

struct ForwardList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the forwards: host port, protocol, partition, its port and address.",
        discussion: "Fields for -F: \(ForwardFields.known.map(\.0).joined(separator: ", ")).")

    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @Flag(name: .long, help: "Print a header line (with -F).") var header = false
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let format = try fields.map { spec throws(PartitionError) in try ForwardFields.fieldList(spec) }
            let forwards = try connection.manager().forwards()
            if output.json {
                printLine("[" + forwards.map { ForwardFields.json($0, only: format?.fields) }.joined(separator: ",") + "]")
            } else if let format {
                let text = TextOutput.values(forwards, fields: format.fields, delimiter: format.delimiter, header: header) { field, forward in ForwardFields.value(field, of: forward).text }
                if !text.isEmpty { printLine(text) }
            } else {
                var rows = [["HOST PORT", "PROTO", "PARTITION", "PORT", "ADDRESS"]]
                for forward in forwards {
                    let address = forward.via.map { "\(forward.address) via \($0)" } ?? forward.address.description
                    rows.append([String(forward.hostPort), forward.proto.rawValue, forward.partition, String(forward.port), address])
                }
                printLine(TextOutput.align(rows))
            }
        } catch {
            throw error.with(operation: "forward list")
        }
    }
}
