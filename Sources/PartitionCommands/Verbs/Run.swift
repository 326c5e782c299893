import ArgumentParser
import PartitionCore

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command in a transient application WPAR: define, activate, wait, remove.",
        discussion: "The exit status is the command's. Example: partctl run --profile wpar-app -- /bin/sh -c 'exit 7'")

    @Option(name: .long, help: "An application WPAR profile.", completion: .profileName) var profile: String
    @Option(name: .customShort("i"), help: ArgumentHelp("Attribute overrides.", valueName: "k=v,...")) var attributes: String?
    @Argument(parsing: .postTerminator, help: "The command and its arguments (default: the profile's command).")
    var command: [String] = []
    // No --connect: a transient WPAR runs on this host and never reaches libvirt. Every option
    // group here would cost ArgumentParser's reflection on each start, which run competes on.

    func run() throws {
        let manager = PartitionManager(configuration: .fromEnvironment())
        manager.warn = printWarning
        throw ExitCode(try manager.run(profile: profile, overrides: attributes, command: command))
    }
}

extension Run {
    /// `run --profile NAME [-i K=V,...] -- COMMAND...`, the form scripts and benchmarks use, read
    /// without ArgumentParser: its reflection over the command types costs about a millisecond per
    /// start, as much as the whole of a transient run's own work. Any other argument list is nil
    /// and goes to ArgumentParser (help, `--profile=NAME`, repeated or missing values, errors), so
    /// this form is only ever read one way (RunPlainFormTests holds both readers to that).
    static func plainForm(_ arguments: [String]) -> Run? {
        guard arguments.first == "run", let terminator = arguments.firstIndex(of: "--") else { return nil }
        var options = arguments[1..<terminator]
        var profile: String?
        var attributes: String?
        while let name = options.popFirst() {
            guard let value = options.popFirst(), !value.hasPrefix("-") else { return nil }
            switch name {
            case "--profile" where profile == nil: profile = value
            case "-i" where attributes == nil: attributes = value
            default: return nil
            }
        }
        guard let profile else { return nil }
        var run = Run()
        run.profile = profile
        run.attributes = attributes
        run.command = Array(arguments[(terminator + 1)...])
        return run
    }
}

