import PartitionModel

/// One leaf value of a resolved profile and where it came from, for `profile explain`:
/// `(keyPath: "memory.max", value: "512MiB", source: "lpar-base", file: "profiles/lpar-base.yaml", line: 9)`.
///
/// `source` is a profile's name, `"default"` (partctl's built-in default) or `"command line"` (a `-i`
/// override). `file` is set exactly when the value comes from a profile file, so a profile that happens
/// to be named `default` is still told apart.
public struct ProfileValueOrigin: Sendable, Codable, Hashable, CustomStringConvertible {
    public static let defaultSource = "default"
    public static let commandLineSource = "command line"

    public var keyPath: String
    /// The value in canonical form: `512MiB`, `0.5`, `true`, `[disk, cdrom]`, `none` for an unset optional.
    public var value: String
    public var source: String
    public var file: String?
    public var line: Int?

    public init(keyPath: String, value: String, source: String, file: String? = nil, line: Int? = nil) {
        self.keyPath = keyPath
        self.value = value
        self.source = source
        self.file = file
        self.line = line
    }

    public var isDefault: Bool { file == nil && source == Self.defaultSource }
    public var isCommandLine: Bool { file == nil && source == Self.commandLineSource }

    /// `memory.max = 512MiB  (lpar-base, profiles/lpar-base.yaml:9)`
    public var description: String {
        var from = source
        if let file { from += ", \(file)" + (line.map { ":\($0)" } ?? "") }
        return "\(keyPath) = \(value)  (\(from))"
    }

    init(keyPath: ProfileKeyPath, value: String, origin: ProfileOrigin) {
        self.init(keyPath: keyPath.description, value: value, source: origin.sourceName,
                  file: origin.file, line: origin.file == nil ? nil : origin.line)
    }
}

/// Something wrong with a resolved profile, before it is placed in a file: the key path it is about,
/// every key path whose value takes part (to find the file and line to blame), and the problem.
struct ProfileProblem: Sendable, Hashable {
    var keyPath: String
    var involved: [String]
    var text: String

    init(_ keyPath: String, _ text: String, involving others: [String] = []) {
        self.keyPath = keyPath
        // A problem between two values is blamed on the one set last, not on their container.
        self.involved = others.isEmpty ? [keyPath] : others
        self.text = text
    }

    /// `memory.min: 512MiB is below 16MiB.` — the message when no file is known.
    var message: String { keyPath.isEmpty ? text : "\(keyPath): \(text)" }
}

/// Turns problems into one-line errors that name the file and line (or the `-i` attribute) that set the
/// value, the key path and the problem.
struct ProfileBlame: Sendable {
    /// Origins of every value that decoding read, by key path.
    var origins: [String: ProfileOrigin]
    /// The profile chain, most derived first: a value from an earlier profile overrode the later ones.
    var chainFiles: [String]
    /// Where to point when no value takes the blame (a required key is missing everywhere).
    var fallback: ProfileOrigin

    /// The origin that most recently set one of `keyPaths`: the command line beats the profile being
    /// resolved, which beats the profiles it extends, which beat defaults.
    func origin(of keyPaths: [String]) -> ProfileOrigin {
        var best: (rank: Int, origin: ProfileOrigin)?
        for keyPath in keyPaths {
            guard let origin = origins[keyPath] ?? nearest(keyPath) else { continue }
            let rank: Int
            switch origin.source {
            case .commandLine: rank = 0
            case .profile(_, let file): rank = 1 + (chainFiles.firstIndex(of: file) ?? chainFiles.count)
            case .builtInDefault: rank = Int.max
            }
            if best == nil || rank < best!.rank { best = (rank, origin) }
        }
        guard let best, best.rank != Int.max else { return fallback }
        return best.origin
    }

    /// For a container key path (`disks[0]`), the origin of its first leaf; for an item of a list
    /// recorded as one value (`command[0]`), the origin of the list.
    private func nearest(_ keyPath: String) -> ProfileOrigin? {
        let prefixes = [keyPath + ".", keyPath + "["]
        let leaf = origins.filter { key, origin in
            origin.source != .builtInDefault && prefixes.contains { key.hasPrefix($0) }
        }.min(by: { $0.key < $1.key })?.value
        if let leaf { return leaf }
        guard let cut = keyPath.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
        let parent = String(keyPath[..<cut])
        return origins[parent] ?? nearest(parent)
    }

    func error(_ problem: ProfileProblem) -> PartitionError {
        let place = origin(of: problem.involved).place
        return PartitionError(.invalidProfile, "\(place): \(problem.message)")
    }
}
