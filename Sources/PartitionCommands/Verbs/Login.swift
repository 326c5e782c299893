import ArgumentParser
import PartitionCore

struct Login: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Run a shell or a command inside a partition; the exit status is the command's.",
        discussion: "A WPAR: inside it. An LPAR: as root in its guest, outside every WPAR, through its agent (agent: true). Example: partctl login tools -- ps -ef")

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Argument(parsing: .postTerminator, help: "The command and its arguments (default: a login shell).")
    var command: [String] = []
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let status = try connection.manager().login(try partitionPath(path, "login"), command: command, terminal: CommandTerminal())
        throw ExitCode(status)
    }
}
