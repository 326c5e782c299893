import ArgumentParser
import PartitionCore
import PartitionModel

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Save an LPAR (with its nested WPARs' definitions and its disk) or a host WPAR (with its writable layer) into one archive.",
        discussion: """
            The archive is a tar file: a manifest (what was saved, the size and SHA-256 of every member), \
            the definition, and the LPAR's disk flattened from its image into a standalone qcow2, or the \
            WPAR's writable layer. A running LPAR is refused unless --force-running, which pauses it while \
            its disk is copied. Prints the archive's SHA-256.
            Example: partctl backup lp1 --to /srv/backup/lp1.tar
            """)

    @Argument(help: "The LPAR or host WPAR to save.", completion: .partitionPath) var path: String
    @Option(name: .long, help: ArgumentHelp("The archive to write (must not exist).", valueName: "file.tar"), completion: .file())
    var to: String
    @Flag(name: .long, help: "Back up a running LPAR, paused while its disk is copied (the copy is as after a power cut).")
    var forceRunning = false
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "backup")
        let report = try connection.manager().backup(BackupRequest(path: target, file: to, forceRunning: forceRunning))
        if output.json {
            var out = "{"
            JSONOutput.pair("path", .string(report.path), into: &out, first: true)
            JSONOutput.pair("file", .string(report.file), into: &out)
            JSONOutput.pair("sha256", .string(report.sha256), into: &out)
            JSONOutput.pair("bytes", .bytes(report.bytes), into: &out)
            JSONOutput.pair("consistency", .string(report.consistency), into: &out)
            printLine(out + "}")
            return
        }
        printLine("\(report.sha256)  \(report.file)")
        printLine("\(report.path) saved (\(report.bytes) bytes, \(report.consistency)) in \(String(format1: report.seconds)) s.")
    }
}

extension String {
    /// One decimal, without Foundation.
    init(format1 value: Double) {
        let tenths = Int((value * 10).rounded())
        self = "\(tenths / 10).\(tenths % 10)"
    }
}
