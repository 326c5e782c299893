import ArgumentParser
import PartitionCore
import PartitionModel

struct NetworkList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List partctl's managed networks and libvirt's: bridge, subnet, NAT, DHCP, state and users.",
        discussion: "Fields for -F: \(NetworkFields.known.map(\.0).joined(separator: ", ")).")

    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @Flag(name: .long, help: "Print a header line (with -F).") var header = false
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let format = try fields.map { spec throws(PartitionError) in try NetworkFields.fieldList(spec) }
            let (networks, unknown) = try NetworkCatalog(manager: try connection.manager()).list()
            NetworkFields.warnLibvirtUnknown(unknown)
            if output.json {
                printLine("[" + networks.map { NetworkFields.json($0, only: format?.fields) }.joined(separator: ",") + "]")
            } else if let format {
                let text = TextOutput.values(networks, fields: format.fields, delimiter: format.delimiter, header: header) { field, network in NetworkFields.text(field, of: network) }
                if !text.isEmpty { printLine(text) }
            } else {
                var rows = [["NAME", "KIND", "BRIDGE", "SUBNET", "NAT", "DHCP", "STATE", "USERS"]]
                for network in networks {
                    rows.append(["name", "kind", "bridge", "subnet", "nat", "dhcp", "state", "users"].map { NetworkFields.text($0, of: network) })
                }
                printLine(TextOutput.align(rows))
            }
        } catch {
            throw error.with(operation: "network list")
        }
    }
}
