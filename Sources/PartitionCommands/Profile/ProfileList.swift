import ArgumentParser
import PartitionCore
import PartitionModel
import PartitionProfiles

struct ProfileList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the profiles on the search path.")

    @OptionGroup var output: JSONOption

    func run() throws {
        let listings = ProfileStore.default(environment: PartctlConfiguration.fromEnvironment().environment).list()
        if output.json {
            var out = "["
            for (index, listing) in listings.enumerated() {
                if index > 0 { out += "," }
                out += "{"
                JSONOutput.pair("name", .string(listing.name), into: &out, first: true)
                JSONOutput.pair("kind", listing.kind.map { .string($0.rawValue) } ?? .none, into: &out)
                JSONOutput.pair("file", .string(listing.file), into: &out)
                JSONOutput.pair("description", listing.description.map(FieldValue.string) ?? .none, into: &out)
                JSONOutput.pair("abstract", .bool(listing.isAbstract), into: &out)
                JSONOutput.pair("shadowed_by", listing.shadowedBy.map(FieldValue.string) ?? .none, into: &out)
                JSONOutput.pair("problem", listing.problem.map(FieldValue.string) ?? .none, into: &out)
                out += "}"
            }
            printLine(out + "]")
            return
        }
        var rows = [["NAME", "KIND", "DESCRIPTION", "FILE"]]
        for listing in listings {
            var description = listing.description ?? ""
            if listing.isAbstract { description = "(base) " + description }
            if let shadowedBy = listing.shadowedBy { description = "(shadowed by \(shadowedBy)) " + description }
            if let problem = listing.problem { description = "BROKEN: " + problem }
            rows.append([listing.name, listing.kind?.rawValue ?? "-", description, listing.file])
        }
        printLine(TextOutput.align(rows))
    }
}
