import ArgumentParser
import PartitionCore

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command in a transient application WPAR: define, activate, wait, remove.",
        discussion: "The exit status is the command's. Example: partctl run --profile wpar-app -- /bin/sh -c 'exit 7'")

    @Option(name: .long, help: "An application WPAR profile.") var profile: String
    @Option(name: .customShort("i"), help: ArgumentHelp("Attribute overrides.", valueName: "k=v,...")) var attributes: String?
    @Argument(parsing: .postTerminator, help: "The command and its arguments (default: the profile's command).")
    var command: [String] = []
    // No --connect: a transient WPAR runs on this host and never reaches libvirt. Every option
    // group here would cost ArgumentParser's reflection on each start, which run competes on.

    func run() throws {
        let manager = PartitionManager(configuration: .fromEnvironment())
        throw ExitCode(try manager.run(profile: profile, overrides: attributes, command: command))
    }
}
