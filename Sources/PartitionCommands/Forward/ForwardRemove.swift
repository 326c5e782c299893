import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionNetworks

struct ForwardRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Remove the forward of a host port (both protocols unless /tcp or /udp).")

    @Argument(help: ArgumentHelp("The host port, with /tcp or /udp for one protocol only.", valueName: "hostport[/proto]"))
    var hostPort: String
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let (port, proto) = try ForwardSyntax.hostPort(hostPort)
            let gone = try connection.manager().removeForward(hostPort: port, proto: proto)
            if output.json { printLine("[" + gone.map { ForwardFields.json($0, only: nil) }.joined(separator: ",") + "]") }
        } catch {
            throw error.with(operation: "forward remove")
        }
    }
}
