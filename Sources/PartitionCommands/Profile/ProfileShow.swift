import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionProfiles

struct ProfileShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a profile resolved: every value after extends and defaults, one per line.")

    @OptionGroup var reference: ProfileReference
    @OptionGroup var output: JSONOption

    func run() throws {
        let resolved = try reference.resolve()
        if output.json {
            var out = "{"
            JSONOutput.pair("name", .string(resolved.name), into: &out, first: true)
            JSONOutput.pair("kind", .string(resolved.kind.rawValue), into: &out)
            JSONOutput.pair("file", .string(resolved.file), into: &out)
            out += ",\"values\":{"
            for (index, origin) in resolved.provenance.enumerated() {
                JSONOutput.pair(origin.keyPath, .string(origin.value), into: &out, first: index == 0)
            }
            printLine(out + "}}")
            return
        }
        var lines = ["# \(resolved.name) (\(resolved.kind.rawValue)) from \(resolved.chain.joined(separator: " <- "))"]
        for origin in resolved.provenance { lines.append("\(origin.keyPath): \(origin.value)") }
        printLine(lines.joined(separator: "\n"))
    }
}

/// The profile `show` and `explain` work on: a name or file, and `-i` overrides applied first.
struct ProfileReference: ParsableArguments {
    @Argument(help: "Profile name or file.", completion: .profileName) var profile: String
    @Option(name: .customShort("i"), help: ArgumentHelp("Attribute overrides to apply first.", valueName: "k=v,...")) var attributes: String?

    func resolve() throws(PartitionError) -> ResolvedProfile {
        try ProfileCommandSupport.resolve(profile, attributes: attributes)
    }
}

enum ProfileCommandSupport {
    static func resolve(_ reference: String, attributes: String?) throws(PartitionError) -> ResolvedProfile {
        let store = ProfileStore.default(environment: PartctlConfiguration.fromEnvironment().environment)
        let overrides = try attributes.map { text throws(PartitionError) in try ProfileOverrides.parse(text) } ?? ProfileOverrides()
        do {
            return try store.resolve(reference, overrides: overrides, allowAbstract: true)
        } catch {
            throw error.with(operation: "profile")
        }
    }
}
