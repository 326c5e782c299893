import ArgumentParser
import PartitionCore
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// Options every verb that talks to a managed system shares.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.customShort("m"), .customLong("system")],
            help: ArgumentHelp("The managed system, by name ('partctl system list'; default: local).", valueName: "name"))
    var system: String?
    @Option(name: .customLong("connect"),
            help: ArgumentHelp("libvirt URI of the managed system, instead of a name (default: $PARTCTL_CONNECT or qemu:///system).", valueName: "uri"))
    var uri: String?

    func manager() throws(PartitionError) -> PartitionManager {
        let manager = PartitionManager(configuration: try .fromEnvironment(connectURI: uri, system: system))
        manager.warn = printWarning
        manager.notice = { line in StandardStream.write("partctl: \(line)\n", to: STDERR_FILENO) }
        manager.runOverSSH = { (destination) throws(PartitionError) in try RemoteCommand.exec(destination) }
        return manager
    }
}

/// `--json` for every listing verb; errors are then JSON too.
struct JSONOption: ParsableArguments {
    @Flag(name: .long, help: "Print JSON (the stable interface for scripts).")
    var json = false
}

/// Parses a path argument with the same rules everywhere; a refusal names the verb.
func partitionPath(_ text: String, _ operation: String) throws(PartitionError) -> PartitionPath {
    do { return try PartitionPath(text) } catch { throw error.with(operation: operation) }
}

/// Writes a line to standard output without Foundation.
func printLine(_ text: String) {
    StandardStream.write(text + "\n", to: STDOUT_FILENO)
}

/// Writes text to standard output as it is, without adding a newline.
func writeStdout(_ text: String) {
    StandardStream.write(text, to: STDOUT_FILENO)
}
