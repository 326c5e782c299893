import ArgumentParser
import PartitionCore
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

struct Relocate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relocate",
        abstract: "Move an LPAR to another managed system, or a nested WPAR to another LPAR.",
        discussion: """
            An LPAR moves through libvirt's migration: live when it runs (it keeps running), with its \
            definition when it is stopped (--offline). --validate lists every blocker and changes nothing \
            (exit 2 when there is one). On a terminal a line shows what has been copied; at the end, one line \
            with the mode, the time, libvirt's downtime and the bytes moved (--json: an object). \
            A nested WPAR moves to another LPAR with its writable layer; --live checkpoints and restores \
            its processes with CRIU. See docs/relocation.md.
            Example: partctl relocate lp1 --to sys2 --validate
            """)

    @Argument(help: "The LPAR (lp1) or nested WPAR (lp1/web) to move.", completion: .partitionPath) var path: String
    @Option(name: .long, help: ArgumentHelp("The managed system (an LPAR) or the LPAR (a nested WPAR) to move to.", valueName: "destination"))
    var to: String
    @Flag(name: .long, help: "Move it while it runs (an LPAR's default when it runs).") var live = false
    @Flag(name: .long, help: "Move it stopped: its definition and disks (an LPAR's default when it is stopped).") var offline = false
    @Flag(name: .long, help: "Only check what would block the move; nothing changes.") var validate = false
    @Option(name: .long, help: ArgumentHelp("An LPAR: the most the copy may take of the network, in MiB/s.", valueName: "MiB/s"))
    var bandwidth: UInt64?
    @OptionGroup var output: JSONOption
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "relocate")
        if live && offline {
            throw PartitionError(.invalidArgument, "--live and --offline exclude each other.", operation: "relocate")
        }
        if bandwidth == 0 {
            throw PartitionError(.invalidArgument, "--bandwidth must be at least 1 (MiB/s).", operation: "relocate")
        }
        let mode: RelocationRequest.Mode = live ? .live : offline ? .offline : .automatic
        var request = RelocationRequest(path: target, destination: to, mode: mode, validateOnly: validate)
        request.bandwidthMiBPerSecond = bandwidth
        let manager = try connection.manager()
        let started = ContinuousClock.now
        let terminal = isatty(STDERR_FILENO) == 1 && !validate
        let progress = terminal ? TerminalProgress(started: started) : nil
        if let progress { manager.progress = progress }
        let report: RelocationReport
        do {
            report = try manager.relocate(request)
        } catch {
            progress?.finish()
            throw error
        }
        progress?.finish()
        if validate {
            printValidation(report, target)
            if !report.blockers.isEmpty { throw ExitCode(2) }
            return
        }
        if output.json {
            printLine(Self.json(report))
        } else {
            printLine(Self.summary(report))
        }
    }

    private func printValidation(_ report: RelocationReport, _ target: PartitionPath) {
        if output.json {
            var out = "{"
            JSONOutput.pair("path", .string(report.path), into: &out, first: true)
            JSONOutput.pair("destination", .string(report.destination), into: &out)
            JSONOutput.pair("mode", .string(report.mode), into: &out)
            out += ",\"blockers\":["
            for (index, blocker) in report.blockers.enumerated() {
                if index > 0 { out += "," }
                JSONOutput.string(blocker, into: &out)
            }
            printLine(out + "]}")
            return
        }
        for blocker in report.blockers { printLine("blocked: \(blocker)") }
        printLine(report.blockers.isEmpty ? "\(target) can be relocated to \(report.destination) (\(report.mode))." :
                    "\(target) cannot be relocated to \(report.destination) as things are.")
    }

    /// "lp1 relocated to sys2 (live) in 2.7 s; downtime 41 ms; 268.1 MiB moved".
    static func summary(_ report: RelocationReport) -> String {
        var line = "\(report.path) relocated to \(report.destination) (\(report.mode)) in \(tenths(report.seconds)) s"
        if let downtime = report.downtimeMilliseconds { line += "; downtime \(Int(downtime.rounded())) ms" }
        if let bytes = report.bytes { line += "; \(tenths(Double(bytes) / 1_048_576)) MiB moved" }
        return line + "."
    }

    static func json(_ report: RelocationReport) -> String {
        var out = "{"
        JSONOutput.pair("path", .string(report.path), into: &out, first: true)
        JSONOutput.pair("destination", .string(report.destination), into: &out)
        JSONOutput.pair("mode", .string(report.mode), into: &out)
        JSONOutput.pair("seconds", .number(report.seconds), into: &out)
        JSONOutput.pair("downtime_ms", report.downtimeMilliseconds.map(FieldValue.number) ?? .none, into: &out)
        JSONOutput.pair("bytes", report.bytes.map(FieldValue.bytes) ?? .none, into: &out)
        return out + "}"
    }

    static func tenths(_ value: Double) -> String {
        let scaled = Int((value * 10).rounded())
        return "\(scaled / 10).\(scaled % 10)"
    }
}
