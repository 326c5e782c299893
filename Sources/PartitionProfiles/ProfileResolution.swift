import PartitionModel

/// The one path from a merged profile tree to a `ResolvedProfile`: overrides set in, keys and types
/// decoded strictly, values checked, every problem placed in the file (or `-i` attribute) that caused it.
/// Files, stored definitions and `modify -i` all come through here, so they are checked alike.
enum ProfileResolution {
    /// Keys that profiles of both kinds have.
    static let commonKeys = ["kind", "extends", "description", "abstract", "autostart", "image"]
    static let maxDescriptionLength = 200

    struct Identity {
        var name: String
        var file: String
        /// Names and files of the profile and those it extends, most derived first.
        var chain: [String]
        var chainFiles: [String]
    }

    static func resolve(_ settings: ProfileNode, _ identity: Identity, overrides: ProfileOverrides,
                        allowAbstract: Bool) throws(PartitionError) -> ResolvedProfile {
        let fallback = ProfileOrigin(.profile(name: identity.name, file: identity.file))
        let reader = ProfileReader(fallback: fallback)
        let top = ProfileKeyPath.root

        let kind = try reader.scalar(settings["kind"], at: top / "kind", expecting: "lpar or wpar",
                                     parse: { $0 == "lpar" ? PartitionKind.lpar : $0 == "wpar" ? PartitionKind.wpar : nil },
                                     render: \.rawValue)
        guard let kind else { throw reader.missing(top / "kind", "write kind: lpar or kind: wpar.") }
        let (ownKeys, otherKeys, other) = kind == .lpar
            ? (ProfileLparDecoding.keys, ProfileWparDecoding.keys, PartitionKind.wpar)
            : (ProfileWparDecoding.keys, ProfileLparDecoding.keys, PartitionKind.lpar)

        let root = try overrides.apply(to: settings, kind: kind)
        var foreign: [String: String] = [:]
        for key in otherKeys where !ownKeys.contains(key) {
            foreign[key] = "belongs in a profile of kind \(other.rawValue); this profile is kind: \(kind.rawValue)."
        }
        _ = try reader.mapping(root, at: top, keys: commonKeys + ownKeys, expecting: "a mapping", foreign: foreign)

        let description = try reader.text(root["description"], at: top / "description")
        if let description, let node = root["description"] {
            if ProfileRules.hasControlCharacters(description) {
                throw reader.failure(node.origin, top / "description", "must be one line of text.")
            }
            if description.count > maxDescriptionLength {
                throw reader.failure(node.origin, top / "description", "is longer than \(maxDescriptionLength) characters.")
            }
        }
        let isAbstract = try reader.flag(root["abstract"], at: top / "abstract") ?? false
        if isAbstract, !allowAbstract {
            throw PartitionError(.invalidProfile,
                "\(identity.file): the profile '\(identity.name)' is abstract: it holds defaults for other profiles to extend; use one that extends it.")
        }

        var lpar: LparProfile?
        var wpar: WparProfile?
        var problems: [ProfileProblem] = []
        switch kind {
        case .lpar:
            lpar = try ProfileLparDecoding.decode(root, reader, complete: !isAbstract)
            problems = lpar?.problems() ?? []
        case .wpar, .system:
            wpar = try ProfileWparDecoding.decode(root, reader, complete: !isAbstract)
            problems = wpar?.problems() ?? []
        }
        if let problem = problems.first {
            throw ProfileBlame(origins: reader.origins, chainFiles: identity.chainFiles, fallback: fallback).error(problem)
        }
        return ResolvedProfile(name: identity.name, file: identity.file, chain: identity.chain, chainFiles: identity.chainFiles,
                               kind: kind, description: description, isAbstract: isAbstract, lpar: lpar, wpar: wpar,
                               provenance: reader.provenance, settings: root)
    }
}
