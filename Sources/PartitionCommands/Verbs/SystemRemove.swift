import ArgumentParser
import PartitionCore
import PartitionModel

struct SystemRemove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Forget a managed system; its partitions stay as they are.",
        discussion: "'local' (this machine) cannot be removed.")

    @Argument(help: "The system's name.") var name: String

    func run() throws {
        do {
            try SystemFields.registry().remove(named: name)
        } catch {
            throw error.with(operation: "system remove")
        }
    }
}
