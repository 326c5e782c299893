import ArgumentParser
import PartitionCore
import PartitionModel

struct NetworkShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one network: its fields, its leases and dnsmasq's state.")

    @Argument(help: "The network's name.", completion: .networkName) var name: String
    @Option(name: .customShort("F"), help: ArgumentHelp("Fields to print, values only.", valueName: "fields")) var fields: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let format = try fields.map { spec throws(PartitionError) in try NetworkFields.fieldList(spec) }
            let (network, _) = try NetworkCatalog(manager: try connection.manager()).show(name)
            if output.json {
                printLine(NetworkFields.json(network, only: format?.fields, detail: true))
            } else if let format {
                printLine(format.fields.map { NetworkFields.text($0, of: network) }.joined(separator: format.delimiter))
            } else {
                var rows = NetworkFields.known.map { [$0.0 + ":", NetworkFields.text($0.0, of: network)] }
                if network.kind == "partctl" {
                    rows.append(["dnsmasq:", network.dnsmasqPid.map { "running (pid \($0))" } ?? "not running"])
                    for lease in network.leases {
                        rows.append(["lease:", "\(lease.address) \(lease.mac) \(lease.partition)\(lease.fixed ? " (fixed)" : "")"])
                    }
                    for line in network.dynamicLeases { rows.append(["dhcp lease:", line]) }
                } else if let mode = network.forwardMode {
                    rows.append(["forward:", mode])
                }
                printLine(TextOutput.align(rows))
            }
        } catch {
            throw error.with(operation: "network show")
        }
    }
}
