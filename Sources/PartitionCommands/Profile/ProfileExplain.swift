import ArgumentParser
import PartitionCore
import PartitionModel

struct ProfileExplain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain", abstract: "Show every value of a profile and the profile (file and line) that set it.")

    @OptionGroup var reference: ProfileReference
    @OptionGroup var output: JSONOption

    func run() throws {
        let resolved = try reference.resolve()
        if output.json {
            var out = "["
            for (index, origin) in resolved.provenance.enumerated() {
                if index > 0 { out += "," }
                out += "{"
                JSONOutput.pair("key", .string(origin.keyPath), into: &out, first: true)
                JSONOutput.pair("value", .string(origin.value), into: &out)
                JSONOutput.pair("source", .string(origin.source), into: &out)
                JSONOutput.pair("file", origin.file.map(FieldValue.string) ?? .none, into: &out)
                JSONOutput.pair("line", origin.line.map(FieldValue.int) ?? .none, into: &out)
                out += "}"
            }
            printLine(out + "]")
            return
        }
        var rows = [["KEY", "VALUE", "FROM"]]
        for origin in resolved.provenance {
            var from = origin.source
            if let file = origin.file { from += " (\(file)\(origin.line.map { ":\($0)" } ?? ""))" }
            rows.append([origin.keyPath, origin.value, from])
        }
        printLine(TextOutput.align(rows))
    }
}
