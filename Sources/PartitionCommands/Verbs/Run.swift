import ArgumentParser
import PartitionCore
import PartitionModel

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a command in a transient application WPAR: define, activate, wait, remove.",
        discussion: """
            The exit status is the command's. Example: partctl run --profile wpar-app -- /bin/sh -c 'exit 7'
            With --image an image of the store is the WPAR's root, read-only with its own /tmp and /run; an \
            OCI image gives its Entrypoint, Cmd, Env, WorkingDir and User, and the arguments replace its Cmd \
            (as docker run). Without --profile it runs with the shipped profile wpar-image.
            """)

    @Option(name: .long, help: "An application WPAR profile (with --image, default wpar-image).", completion: .profileName)
    var profile: String?
    @Option(name: .long, help: ArgumentHelp("An image of the store to run (the same as -i image=NAME).", valueName: "name"))
    var image: String?
    @Option(name: .customShort("i"), help: ArgumentHelp("Attribute overrides.", valueName: "k=v,...")) var attributes: String?
    @Argument(parsing: .postTerminator, help: "The command and its arguments (default: the profile's command, or the image's Cmd).")
    var command: [String] = []

    /// The profile used with --image alone: an application WPAR whose process is the image's.
    static let imageProfile = PartitionManager.imageProfile
    // No --connect: a transient WPAR runs on this host and never reaches libvirt. Every option
    // group here would cost ArgumentParser's reflection on each start, which run competes on.

    func validate() throws {
        if profile == nil && image == nil { throw ValidationError("run needs --profile PROFILE or --image IMAGE.") }
    }

    func run() throws {
        let manager = PartitionManager(configuration: .fromEnvironment())
        manager.warn = printWarning
        guard let name = profile ?? (image != nil ? Run.imageProfile : nil) else {
            throw PartitionError(.invalidArgument, "run needs --profile PROFILE or --image IMAGE.")
        }
        throw ExitCode(try manager.run(profile: name, overrides: try Define.overrides(attributes, image: image), command: command))
    }
}

extension Run {
    /// `run --profile NAME [--image NAME] [-i K=V,...] -- COMMAND...`, the form scripts and benchmarks use, read
    /// without ArgumentParser: its reflection over the command types costs about a millisecond per
    /// start, as much as the whole of a transient run's own work. Any other argument list is nil
    /// and goes to ArgumentParser (help, `--profile=NAME`, repeated or missing values, errors), so
    /// this form is only ever read one way (RunPlainFormTests holds both readers to that).
    static func plainForm(_ arguments: [String]) -> Run? {
        guard arguments.first == "run", let terminator = arguments.firstIndex(of: "--") else { return nil }
        var options = arguments[1..<terminator]
        var profile: String?
        var image: String?
        var attributes: String?
        while let name = options.popFirst() {
            guard let value = options.popFirst(), !value.hasPrefix("-") else { return nil }
            switch name {
            case "--profile" where profile == nil: profile = value
            case "--image" where image == nil: image = value
            case "-i" where attributes == nil: attributes = value
            default: return nil
            }
        }
        guard profile != nil || image != nil else { return nil }
        var run = Run()
        run.profile = profile
        run.image = image
        run.attributes = attributes
        run.command = Array(arguments[(terminator + 1)...])
        return run
    }
}

