import ArgumentParser
import PartitionCore
import PartitionModel

struct Define: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "define",
        abstract: "Create a partition's definition from a profile; it owns no resources until activated.",
        discussion: """
            The profile's kind decides what PATH becomes: an LPAR (a libvirt domain) or a WPAR on the host; \
            lp1/web defines a WPAR nested in LPAR lp1. The resolved profile is stored with the definition, \
            so later edits of the profile file change nothing until you ask (modify, activate --profile).
            Example: partctl define lp1 --profile lpar-minimal -i "desired_mem=384MiB"
            """)

    @Argument(help: "The new partition's path (lp1, tools, lp1/web).") var path: String
    @Option(name: .long, help: "Profile name (looked up in ./profiles, /etc/partctl/profiles, $PARTCTL_PROFILES) or file.",
            completion: .profileName)
    var profile: String?
    @Option(name: .customShort("i"), help: ArgumentHelp("Attribute overrides, e.g. \"desired_procs=2,desired_mem=384MiB\".", valueName: "k=v,..."))
    var attributes: String?
    @Option(name: .long, help: ArgumentHelp("An image of the store for its root (WPAR) or system disk (LPAR); the same as -i image=NAME.",
                                            valueName: "name"), completion: .imageName)
    var image: String?
    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if profile == nil && image == nil { throw ValidationError("define needs --profile PROFILE (or --image IMAGE of kind oci).") }
    }

    func run() throws {
        let target = try partitionPath(path, "define")
        let manager = try connection.manager()
        // With --image alone, an OCI image runs as an application WPAR of the shipped wpar-image.
        guard let name = try profile ?? image.map({ image throws(PartitionError) in try manager.defaultProfile(forImage: image) }) else {
            throw PartitionError(.invalidArgument, "define needs --profile PROFILE (or --image with an OCI image).")
        }
        try manager.define(target, profile: name, overrides: try Define.overrides(attributes, image: image))
    }

    /// `-i` with `--image NAME` added as `image=NAME`; the name is checked first, so that a comma in
    /// it cannot pose as another attribute.
    static func overrides(_ attributes: String?, image: String?) throws(PartitionError) -> String? {
        guard let image else { return attributes }
        if let problem = ImageNameRule.problem(image) {
            throw PartitionError(.invalidArgument, "--image: the image name \(QuotedText.of(image)) \(problem)")
        }
        return [attributes, "image=\(image)"].compactMap { $0 }.joined(separator: ",")
    }
}
