import ArgumentParser
import PartitionCore

struct Console: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Attach to a partition's console; type ~. at the start of a line to leave.",
        discussion: "With --log, print what the partition has written to its console so far and return.")

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Flag(name: .long, help: "Print the console output so far instead of attaching.") var log = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "console")
        let manager = connection.manager()
        if log {
            let text = try manager.consoleLog(target)
            writeStdout(text)
        } else {
            let terminal = CommandTerminal()
            terminal.consoleEnded(target, try manager.attachConsole(target, terminal: terminal))
        }
    }
}
