import ArgumentParser
import PartitionCore
import PartitionModel

struct Relocate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relocate",
        abstract: "Move an LPAR to another managed system, or a nested WPAR to another LPAR.",
        discussion: """
            An LPAR moves through libvirt's migration: live when it runs (it keeps running), with its \
            definition and disks when it is stopped (--offline). A nested WPAR moves to another LPAR with \
            its writable layer; --live checkpoints and restores its processes with CRIU.
            Example: partctl relocate lp1 --to sys2 --validate
            """)

    @Argument(help: "The LPAR (lp1) or nested WPAR (lp1/web) to move.", completion: .partitionPath) var path: String
    @Option(name: .long, help: ArgumentHelp("The managed system (an LPAR) or the LPAR (a nested WPAR) to move to.", valueName: "destination"))
    var to: String
    @Flag(name: .long, help: "Move it while it runs (an LPAR's default when it runs).") var live = false
    @Flag(name: .long, help: "Move it stopped: its definition and disks (an LPAR's default when it is stopped).") var offline = false
    @Flag(name: .long, help: "Only check what would block the move; nothing changes.") var validate = false
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "relocate")
        if live && offline {
            throw PartitionError(.invalidArgument, "--live and --offline exclude each other.", operation: "relocate")
        }
        let mode: RelocationRequest.Mode = live ? .live : offline ? .offline : .automatic
        let report = try connection.manager().relocate(
            RelocationRequest(path: target, destination: to, mode: mode, validateOnly: validate))
        for blocker in report.blockers { printLine("blocked: \(blocker)") }
        if validate {
            printLine(report.blockers.isEmpty ? "\(target) can be relocated to \(report.destination) (\(report.mode))." :
                        "\(target) cannot be relocated to \(report.destination) as things are.")
            if !report.blockers.isEmpty { throw ExitCode(1) }
            return
        }
        printLine("\(target) relocated to \(report.destination) (\(report.mode)) in \(report.seconds) s.")
    }
}
