import Foundation
import PartitionModel

/// Where profiles are found and how a name or path becomes a `ResolvedProfile` (DESIGN §4).
///
/// A name is looked up as `<dir>/<name>.yaml` (then `.yml`) in each directory of the search path, in
/// order; the first match wins and shadows the others. A reference with a `/` or ending in `.yaml`/`.yml`
/// is a path. In `extends`, a relative path is taken from the extending file's directory.
public struct ProfileStore: Sendable, Hashable {
    public static let localDirectory = "profiles"
    public static let systemDirectory = "/etc/partctl/profiles"
    public static let environmentVariable = "PARTCTL_PROFILES"
    /// How many profiles one chain of `extends` may hold.
    public static let maxChainLength = 8

    public var searchPath: [String]

    public init(searchPath: [String]) {
        self.searchPath = searchPath
    }

    /// `./profiles`, `/etc/partctl/profiles`, then each directory of `$PARTCTL_PROFILES` (colon-separated).
    public static func `default`(environment: [String: String] = ProcessInfo.processInfo.environment) -> ProfileStore {
        let extra = environment[environmentVariable].map { $0.split(separator: ":").map(String.init) } ?? []
        return ProfileStore(searchPath: [localDirectory, systemDirectory] + extra)
    }

    /// True when `reference` is a file path rather than a profile name.
    public static func isPath(_ reference: String) -> Bool {
        reference.contains("/") || reference.hasSuffix(".yaml") || reference.hasSuffix(".yml")
    }

    /// The search path as messages show it: relative directories with `./`.
    var searchPathDescription: String {
        searchPath.map { $0.hasPrefix("/") || $0.hasPrefix(".") ? $0 : "./\($0)" }.joined(separator: ", ")
    }

    /// The file a profile name or path refers to.
    public func locate(_ reference: String) throws(PartitionError) -> String {
        try locate(reference, relativeTo: nil)
    }

    func locate(_ reference: String, relativeTo directory: String?) throws(PartitionError) -> String {
        if ProfileStore.isPath(reference) {
            let path = reference.hasPrefix("/") || directory == nil ? reference : "\(directory!)/\(reference)"
            guard ProfileHostPath.inspect(path) != nil else {
                throw PartitionError(.notFound, "The profile file \(ProfileRules.quoted(path)) does not exist.")
            }
            return path
        }
        if PartitionName.problem(with: reference) != nil {
            throw PartitionError(.invalidArgument,
                "The profile name \(ProfileRules.quoted(reference)) is not valid: use lowercase letters, digits, '-' and '_', or give a path to a .yaml file.")
        }
        for directory in searchPath {
            for suffix in [".yaml", ".yml"] {
                let path = directory.hasSuffix("/") ? "\(directory)\(reference)\(suffix)" : "\(directory)/\(reference)\(suffix)"
                if ProfileHostPath.inspect(path)?.kind == .regularFile { return path }
            }
        }
        if searchPath.isEmpty {
            throw PartitionError(.notFound, "The profile '\(reference)' was not found: no profile directories are configured.")
        }
        throw PartitionError(.notFound, "The profile '\(reference)' was not found in \(searchPathDescription).")
    }

    /// Loads the profile `reference` and those it extends, merges them, applies `overrides` and checks
    /// everything. An abstract profile (`abstract: true`) is refused unless `allowAbstract` (for
    /// `profile show`/`explain`/`check` of a base profile).
    public func resolve(_ reference: String, overrides: ProfileOverrides = ProfileOverrides(),
                        allowAbstract: Bool = false) throws(PartitionError) -> ResolvedProfile {
        let path = try locate(reference)
        let chain = try loadChain(ProfileFile.load(path: path, name: ProfileFile.profileName(forFile: path)))
        // Merge from the root of the chain down; description and abstract belong to each profile alone.
        var merged = chain.last!.root.removing("extends")
        for file in chain.dropLast().reversed() {
            merged = file.root.removing("extends").merged(over: merged.removing("description").removing("abstract"))
        }
        let identity = ProfileResolution.Identity(name: chain[0].name, file: chain[0].path,
                                                  chain: chain.map(\.name), chainFiles: chain.map(\.path))
        return try ProfileResolution.resolve(merged, identity, overrides: overrides, allowAbstract: allowAbstract)
    }

    /// The profile and those it extends, most derived first; cycles, overlong chains and kinds that
    /// disagree are refused.
    private func loadChain(_ first: ProfileFile) throws(PartitionError) -> [ProfileFile] {
        var chain = [first]
        while let extends = chain.last!.root["extends"], !extends.isNull {
            let current = chain.last!
            let place = extends.origin.place
            guard case .scalar(let reference) = extends.content else {
                throw PartitionError(.invalidProfile, "\(place): extends: expected a profile name or path, found \(extends.shapeDescription).")
            }
            let directory = (current.path as NSString).deletingLastPathComponent
            let path: String
            do {
                path = try locate(reference, relativeTo: directory.isEmpty ? "." : directory)
            } catch {
                throw PartitionError(error.code, "\(place): extends: \(error.message)")
            }
            let next = try ProfileFile.load(path: path, name: ProfileFile.profileName(forFile: path))
            if chain.contains(where: { $0.identity == next.identity }) {
                let names = (chain + [next]).map(\.name).joined(separator: " -> ")
                throw PartitionError(.invalidProfile, "\(place): extends: the profiles extend each other in a cycle: \(names).")
            }
            if chain.count >= ProfileStore.maxChainLength {
                let names = (chain + [next]).map(\.name).joined(separator: " -> ")
                throw PartitionError(.invalidProfile,
                    "\(place): extends: more than \(ProfileStore.maxChainLength) profiles in one chain (\(names)).")
            }
            chain.append(next)
        }
        try checkKinds(chain)
        return chain
    }

    /// A profile may repeat the kind of the profile it extends, not change it.
    private func checkKinds(_ chain: [ProfileFile]) throws(PartitionError) {
        var inherited: (kind: String, from: String)?
        for file in chain.reversed() {
            guard let node = file.root["kind"], case .scalar(let kind) = node.content else { continue }
            if let inherited, inherited.kind != kind {
                throw PartitionError(.invalidProfile,
                    "\(node.origin.place): kind: \(ProfileRules.quoted(kind)) differs from \(inherited.kind), the kind of '\(inherited.from)', which this profile extends.")
            }
            inherited = (kind, file.name)
        }
    }
}
