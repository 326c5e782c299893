import ArgumentParser
import PartitionCore
import PartitionModel

struct NetworkRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove a managed network (its bridge, dnsmasq and rules); refused while partitions use it.",
        discussion: "partctl0 may be removed too; it comes back with the defaults on its next use.")

    @Argument(help: "The network's name.", completion: .networkName) var name: String
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            try NetworkCatalog(manager: try connection.manager()).remove(name)
        } catch {
            throw error.with(operation: "network remove")
        }
    }
}
