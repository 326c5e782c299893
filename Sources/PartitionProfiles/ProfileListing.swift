import Foundation
import PartitionModel

/// One profile file found on the search path, for `profile list`.
public struct ProfileListing: Sendable, Codable, Hashable {
    public var name: String
    public var file: String
    /// nil when the file cannot be read far enough to tell.
    public var kind: PartitionKind?
    public var description: String?
    public var isAbstract: Bool
    /// The file of the same name that lookups find instead (earlier on the search path, or `.yaml`
    /// beside this `.yml`); nil when this file is the one a lookup by name finds.
    public var shadowedBy: String?
    /// Why the profile cannot be used, when it cannot: the resolution error's message.
    public var problem: String?

    public init(name: String, file: String, kind: PartitionKind?, description: String?, isAbstract: Bool,
                shadowedBy: String?, problem: String?) {
        self.name = name
        self.file = file
        self.kind = kind
        self.description = description
        self.isAbstract = isAbstract
        self.shadowedBy = shadowedBy
        self.problem = problem
    }
}

extension ProfileStore {
    /// Every `.yaml`/`.yml` file in the search path's directories, in lookup order, each resolved to
    /// tell its kind and whether it is valid. Directories that do not exist are skipped.
    public func list() -> [ProfileListing] {
        var listings: [ProfileListing] = []
        var winners: [String: String] = [:]
        for directory in searchPath {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { continue }
            // `.yaml` before `.yml` of the same name, as lookups try them.
            let files = names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted {
                let (a, b) = (ProfileFile.profileName(forFile: $0), ProfileFile.profileName(forFile: $1))
                return a != b ? a < b : $0.hasSuffix(".yaml")
            }
            for fileName in files {
                let path = directory.hasSuffix("/") ? directory + fileName : "\(directory)/\(fileName)"
                guard ProfileHostPath.inspect(path)?.kind == .regularFile else { continue }
                let name = ProfileFile.profileName(forFile: fileName)
                var listing = ProfileListing(name: name, file: path, kind: nil, description: nil, isAbstract: false,
                                             shadowedBy: winners[name], problem: nil)
                if winners[name] == nil { winners[name] = path }
                describe(&listing)
                listings.append(listing)
            }
        }
        return listings
    }

    private func describe(_ listing: inout ProfileListing) {
        if PartitionName.problem(with: listing.name) != nil {
            listing.problem = "'\(listing.name)' is not a valid profile name, so it cannot be looked up by name; rename the file."
        }
        do {
            let resolved = try resolve(listing.file, allowAbstract: true)
            listing.kind = resolved.kind
            listing.description = resolved.description
            listing.isAbstract = resolved.isAbstract
        } catch {
            listing.problem = listing.problem ?? error.message
            // Tell what can still be told from the file itself.
            if let file = try? ProfileFile.load(path: listing.file, name: listing.name) {
                if case .scalar(let kind)? = file.root["kind"]?.content { listing.kind = PartitionKind(rawValue: kind) }
                if case .scalar(let text)? = file.root["description"]?.content { listing.description = text }
            }
        }
    }
}
