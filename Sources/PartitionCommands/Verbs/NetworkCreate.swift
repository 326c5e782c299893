import ArgumentParser
import PartitionCore
import PartitionModel

struct NetworkCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Create a managed network (a bridge with DHCP, NAT unless --no-nat) and bring it up.",
        discussion: "Example: partctl network create lab --subnet 10.80.0.0/24 --no-nat")

    @Argument(help: "The network's name (also its bridge's unless --bridge; then at most 15 characters).") var name: String
    @Option(name: .long, help: ArgumentHelp("Its IPv4 subnet, /8 to /30; the host takes the first address.", valueName: "cidr")) var subnet: String
    @Flag(name: .long, help: "Isolated: no outbound NAT, partitions reach the host and each other only.") var noNat = false
    @Option(name: .long, help: ArgumentHelp("The bridge's name (default: the network's).", valueName: "name")) var bridge: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let network = try NetworkCatalog(manager: try connection.manager()).create(name: name, subnet: subnet, nat: !noNat, bridge: bridge)
            if output.json { printLine(NetworkFields.json(network, only: nil)) }
        } catch {
            throw error.with(operation: "network create")
        }
    }
}
