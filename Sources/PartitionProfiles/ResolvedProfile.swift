import PartitionModel

/// A profile with its `extends` chain merged, overrides applied, every value decoded and checked,
/// and the origin of every value recorded. `define` stores it (as JSON) in the partition's definition,
/// so later edits of the profile files change nothing until the user asks.
///
/// Decoding it from JSON checks it again from its stored settings: a definition that was tampered with,
/// or that a newer partctl no longer accepts, does not load.
public struct ResolvedProfile: Sendable, Hashable, Codable {
    public let name: String
    /// The file of this profile.
    public let file: String
    /// This profile's name and those it extends, most derived first: `["lpar-minimal", "lpar-base"]`.
    public let chain: [String]
    /// The files of `chain`, in the same order.
    public let chainFiles: [String]
    public let kind: PartitionKind
    public let description: String?
    /// An abstract profile holds defaults for others; it has no `lpar` or `wpar` and cannot be defined.
    public let isAbstract: Bool
    /// Set exactly when `kind` is `.lpar` and the profile is not abstract.
    public let lpar: LparProfile?
    /// Set exactly when `kind` is `.wpar` and the profile is not abstract.
    public let wpar: WparProfile?
    /// Every leaf value in order, with its source: a profile, "default" or "command line".
    public let provenance: [ProfileValueOrigin]
    /// The merged tree the typed values were decoded from, before defaults: what is re-decoded when
    /// overrides are applied later or the stored profile is loaded.
    let settings: ProfileNode

    init(name: String, file: String, chain: [String], chainFiles: [String], kind: PartitionKind, description: String?,
         isAbstract: Bool, lpar: LparProfile?, wpar: WparProfile?, provenance: [ProfileValueOrigin], settings: ProfileNode) {
        self.name = name
        self.file = file
        self.chain = chain
        self.chainFiles = chainFiles
        self.kind = kind
        self.description = description
        self.isAbstract = isAbstract
        self.lpar = lpar
        self.wpar = wpar
        self.provenance = provenance
        self.settings = settings
    }

    /// This profile with `overrides` applied (for `modify -i … --config`): everything is decoded and
    /// checked again, and the overridden values' source becomes "command line".
    public func applying(_ overrides: ProfileOverrides) throws(PartitionError) -> ResolvedProfile {
        try ProfileResolution.resolve(settings, identity, overrides: overrides, allowAbstract: isAbstract)
    }

    /// Decodes and checks the stored settings again, as a newer partctl would.
    public func revalidated() throws(PartitionError) -> ResolvedProfile {
        try applying(ProfileOverrides())
    }

    /// The origin of the value at `keyPath` (`memory.max`, `disks[0].file`), if the profile has one.
    public func origin(of keyPath: String) -> ProfileValueOrigin? {
        provenance.first { $0.keyPath == keyPath }
    }

    /// Checks the files and directories the profile names on this host (see
    /// `LparProfile.validateHostPaths()`); the error names the profile file and line that set the path.
    public func validateHostPaths() throws(PartitionError) {
        if let problem = hostProblems().first { throw problem }
    }

    /// Every problem of what the profile names on this host (files, directories, bridges), each
    /// placed at the profile file and line that set the value: `profile check` reports them all.
    public func hostProblems() -> [PartitionError] {
        (lpar?.hostPathProblems() ?? wpar?.hostPathProblems() ?? []).map { blame.error($0) }
    }

    /// A problem of the value at `keyPath` found by a caller that knows more of the managed system
    /// (libvirt's networks), placed like the others.
    public func placed(_ keyPath: String, _ text: String) -> PartitionError {
        blame.error(ProfileProblem(keyPath, text))
    }

    // MARK: Origins

    private var identity: ProfileResolution.Identity {
        ProfileResolution.Identity(name: name, file: file, chain: chain, chainFiles: chainFiles)
    }

    private var blame: ProfileBlame {
        var origins: [String: ProfileOrigin] = [:]
        for entry in provenance { origins[entry.keyPath] = origin(from: entry) }
        return ProfileBlame(origins: origins, chainFiles: chainFiles, fallback: ProfileOrigin(.profile(name: name, file: file)))
    }

    private func origin(from entry: ProfileValueOrigin) -> ProfileOrigin {
        ResolvedProfile.origin(from: entry, kind: kind)
    }

    static func origin(from entry: ProfileValueOrigin, kind: PartitionKind) -> ProfileOrigin {
        if let file = entry.file { return ProfileOrigin(.profile(name: entry.source, file: file), line: entry.line) }
        if entry.isCommandLine {
            return ProfileOrigin(.commandLine(attribute: ProfileOverrides.attribute(forKeyPath: entry.keyPath, kind: kind)))
        }
        return .builtInDefault
    }

    // MARK: Codable

    private enum CodingKeys: String, CodingKey {
        case name, file, chain, chainFiles, kind, description, abstract, lpar, wpar, provenance, settings
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(file, forKey: .file)
        try container.encode(chain, forKey: .chain)
        try container.encode(chainFiles, forKey: .chainFiles)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(description, forKey: .description)
        try container.encode(isAbstract, forKey: .abstract)
        try container.encodeIfPresent(lpar, forKey: .lpar)
        try container.encodeIfPresent(wpar, forKey: .wpar)
        try container.encode(provenance, forKey: .provenance)
        try container.encode(ProfileSettingsJSON(settings), forKey: .settings)
    }

    /// Re-derives everything from the stored settings; the stored `lpar`/`wpar` are for readers of the JSON.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let name = try container.decode(String.self, forKey: .name)
        let file = try container.decode(String.self, forKey: .file)
        let chain = try container.decode([String].self, forKey: .chain)
        let chainFiles = try container.decode([String].self, forKey: .chainFiles)
        let isAbstract = try container.decodeIfPresent(Bool.self, forKey: .abstract) ?? false
        let provenance = try container.decode([ProfileValueOrigin].self, forKey: .provenance)
        let plain = try container.decode(ProfileSettingsJSON.self, forKey: .settings).node
        var kind = PartitionKind.lpar
        if case .scalar("wpar")? = plain["kind"]?.content { kind = .wpar }

        var byKeyPath: [String: ProfileOrigin] = [:]
        for entry in provenance { byKeyPath[entry.keyPath] = ResolvedProfile.origin(from: entry, kind: kind) }
        let fallback = ProfileOrigin(.profile(name: name, file: file))
        let blame = ProfileBlame(origins: byKeyPath, chainFiles: chainFiles, fallback: fallback)
        let settings = plain.withOrigins { path in
            let origin = blame.origin(of: [path.description])
            return origin.source == .builtInDefault ? fallback : origin
        }
        do {
            self = try ProfileResolution.resolve(settings, .init(name: name, file: file, chain: chain, chainFiles: chainFiles),
                                                 overrides: ProfileOverrides(), allowAbstract: isAbstract)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "The stored profile '\(name)' is no longer valid: \(error.message)"))
        }
    }

    // MARK: Hashable

    /// Equal when everything public is equal and the settings hold the same values.
    public static func == (lhs: ResolvedProfile, rhs: ResolvedProfile) -> Bool {
        lhs.name == rhs.name && lhs.file == rhs.file && lhs.chain == rhs.chain && lhs.chainFiles == rhs.chainFiles
            && lhs.kind == rhs.kind && lhs.description == rhs.description && lhs.isAbstract == rhs.isAbstract
            && lhs.lpar == rhs.lpar && lhs.wpar == rhs.wpar && lhs.provenance == rhs.provenance
            && lhs.settings.hasSameContent(as: rhs.settings)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(file)
        hasher.combine(kind)
        hasher.combine(lpar)
        hasher.combine(wpar)
        hasher.combine(provenance)
    }
}
