import ArgumentParser
import PartitionCore
import PartitionModel

struct SystemAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a managed system: a name for a libvirt URI (it need not answer now).",
        discussion: """
            Example: partctl system add sys2 qemu+ssh://root@host2/system
            Example: partctl system add sys3 qemu+tcp://10.0.0.3/system --ssh root@10.0.0.3
            Host WPARs of another system are reached by running partctl there over SSH: --ssh names where \
            (a qemu+ssh URI's host is used when --ssh is not given).
            """)

    @Argument(help: "Its name (1-32 lowercase letters, digits, '-' or '_').") var name: String
    @Argument(help: "Its libvirt URI, e.g. qemu+ssh://host2/system or qemu+tcp://10.0.0.2/system.") var uri: String
    @Option(name: .long, help: ArgumentHelp("Where to run partctl over SSH for its host WPARs.", valueName: "user@host"))
    var ssh: String?

    func run() throws {
        do {
            try SystemFields.registry().add(ManagedSystem(name: name, uri: uri, ssh: ssh))
        } catch {
            throw error.with(operation: "system add")
        }
    }
}
