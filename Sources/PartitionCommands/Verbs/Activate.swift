import ArgumentParser
import PartitionCore

struct Activate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Allocate a partition's resources and start it.",
        discussion: "With --profile, the definition is first updated from that profile (like chsysstate -f).")

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Option(name: .long, help: "Re-resolve the definition from this profile before starting.", completion: .profileName) var profile: String?
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        try connection.manager().activate(try partitionPath(path, "activate"), profile: profile)
    }
}
