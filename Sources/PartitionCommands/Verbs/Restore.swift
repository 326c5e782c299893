import ArgumentParser
import PartitionCore
import PartitionModel

struct Restore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Create a partition from a backup archive, on this or another managed system, under its name or another.",
        discussion: """
            The whole archive is checked before anything is created: its manifest, the size and SHA-256 \
            of every member, member names and types, a WPAR layer's entries, the definition's profile and \
            the name on the destination. An LPAR gets a new UUID and new MACs; its disk goes into the \
            destination's 'partctl' pool. A failure half way removes what was made.
            Example: partctl restore /srv/backup/lp1.tar -m sys2 --as lp1b
            """)

    @Argument(help: "The archive 'partctl backup' wrote.", completion: .file()) var file: String
    @Option(name: .customLong("as"), help: ArgumentHelp("The restored partition's name (default: the archived one).", valueName: "name"))
    var newName: String?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        var name: PartitionName?
        if let newName {
            do { name = try PartitionName(newName) } catch { throw error.with(operation: "restore") }
        }
        let report = try connection.manager().restore(RestoreRequest(file: file, name: name))
        if output.json {
            var out = "{"
            JSONOutput.pair("path", .string(report.path), into: &out, first: true)
            JSONOutput.pair("kind", .string(report.kind), into: &out)
            JSONOutput.pair("system", .string(report.system), into: &out)
            out += ",\"notes\":["
            for (index, note) in report.notes.enumerated() {
                if index > 0 { out += "," }
                JSONOutput.string(note, into: &out)
            }
            printLine(out + "]}")
            return
        }
        for note in report.notes { printLine("note: \(note)") }
        printLine("\(report.path) restored on \(report.system) (\(report.kind)); activate it with 'partctl activate \(report.path)'.")
    }
}
