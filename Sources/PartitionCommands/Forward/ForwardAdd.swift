import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionNetworks

struct ForwardAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Forward a host port (tcp unless /udp) to a running partition's port.",
        discussion: """
            The partition's address is looked up once, now: a running host WPAR's eth0 address, a running LPAR's \
            address. Connections to the port on any of the host's addresses, 127.0.0.1 included, reach it.
            Examples: partctl forward add 8080 web:80 ; partctl forward add 5353/udp lp1:53
            """)

    @Argument(help: ArgumentHelp("The host port, 1-65535, with /tcp (the default) or /udp.", valueName: "hostport[/proto]"))
    var hostPort: String
    @Argument(help: ArgumentHelp("The partition and its port.", valueName: "path:port"), completion: .partitionPath)
    var target: String
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        do {
            let (port, proto) = try ForwardSyntax.hostPort(hostPort)
            let (path, targetPort) = try ForwardSyntax.target(target)
            let forward = try connection.manager().addForward(hostPort: port, proto: proto ?? .tcp, target: path, port: targetPort)
            if output.json { printLine(ForwardFields.json(forward, only: nil)) }
        } catch {
            throw error.with(operation: "forward add")
        }
    }
}
