import ArgumentParser
import PartitionCore
import PartitionModel

struct SystemShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show one managed system: its URI, SSH destination, whether it answers, host name, libvirt, CPUs, memory, LPARs.")

    @Argument(help: "The system's name.") var name: String
    @OptionGroup var output: JSONOption

    func run() throws {
        do {
            let system = try SystemFields.registry().system(named: name)
            guard let status = SystemStatus.probe([system], configuration: .fromEnvironment()).first else { return }
            if output.json {
                printLine(SystemFields.json(status, only: nil))
            } else {
                printLine(TextOutput.align(SystemFields.known.map(\.0).map { ["\($0):", SystemFields.text($0, of: status)] }))
            }
        } catch {
            throw error.with(operation: "system show")
        }
    }
}
