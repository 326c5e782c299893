import ArgumentParser
import PartitionCore
import PartitionModel

struct Activate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "activate",
        abstract: "Allocate a partition's resources and start it.",
        discussion: """
            With --profile, the definition is first updated from that profile (like chsysstate -f). \
            An LPAR's activation waits for the domain and, with an agent, for the agent and its autostart WPARs; \
            --no-wait returns once the domain runs (state `starting` until its agent is up). On a terminal, \
            what it waits for is shown on stderr, then one line when done; --json prints {"path", "state"}.
            """)

    @Argument(help: "The partition's path.", completion: .partitionPath) var path: String
    @Option(name: .long, help: "Re-resolve the definition from this profile before starting.", completion: .profileName) var profile: String?
    @Flag(name: .long, inversion: .prefixedNo, help: "Wait until the partition is up (for an LPAR: its agent answers).")
    var wait = true
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "activate")
        let manager = try connection.manager()
        try LifecycleReport(path: target, json: output.json).run(manager, done: "activated") { () throws(PartitionError) in
            try manager.activate(target, profile: profile, wait: wait)
            // Without waiting, an LPAR with an agent is still starting.
            return wait ? .running : manager.lparState(target) ?? .running
        }
    }
}
