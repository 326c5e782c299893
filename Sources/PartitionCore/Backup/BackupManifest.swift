import AgentProtocol
import PartitionModel

/// The first member of every backup archive (`manifest.json`): what was backed up, and the size and
/// SHA-256 of every other member, in the order they follow. `restore` reads it first, checks its
/// form strictly (no field it does not know, nothing missing), and then holds every member to it.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let memberName = "manifest.json"
    public static let formatName = "partctl-backup"
    public static let currentVersion = 1
    /// A manifest is small; anything larger is not one of partctl's.
    static let sizeLimit = 1 << 20

    public enum Kind: String, Codable, Sendable {
        case lpar
        case wpar
    }

    public struct Member: Codable, Sendable, Equatable {
        public var name: String
        public var size: UInt64
        /// 64 lowercase hex digits.
        public var sha256: String
    }

    public var format: String
    public var version: Int
    public var kind: Kind
    /// The partition's name when it was backed up.
    public var name: String
    /// The managed system it was backed up from (`local`, a registered name, or the URI).
    public var system: String
    /// Seconds since the epoch.
    public var created: Int64
    /// The partition's state when it was backed up, and how it was kept consistent.
    public var state: String
    public var consistency: String
    /// The profile the definition was made from (its name).
    public var profile: String
    /// WPARs nested in the LPAR (their definitions are in domain.xml).
    public var nested: [String]
    /// Images the definitions name that are not in the archive: they must be in the store where it is restored.
    public var images: [String]
    public var members: [Member]

    /// The members each kind of archive may hold (beside the manifest), and which it must.
    static func allowedMembers(_ kind: Kind) -> (required: Set<String>, optional: Set<String>) {
        switch kind {
        case .lpar: return ([LparArchive.definitionMember], [LparArchive.diskMember])
        case .wpar: return ([WparArchive.definitionMember], [WparArchive.layerMember])
        }
    }

    /// Reads and checks the manifest's bytes; every refusal names `label` (the archive).
    static func decode(_ bytes: [UInt8], label: String) throws(PartitionError) -> BackupManifest {
        func refuse(_ what: String) -> PartitionError { PartitionError(.invalidArgument, "\(label): \(what).") }
        let manifest: BackupManifest
        do {
            manifest = try StrictJSON.decode(BackupManifest.self, from: try JSONText.parse(bytes), what: "manifest")
        } catch {
            throw refuse("its manifest is not one partctl reads (\(error.message.hasSuffix(".") ? String(error.message.dropLast()) : error.message))")
        }
        guard manifest.format == formatName else { throw refuse("its manifest is not a partctl backup's (format \(QuotedText.of(manifest.format)))") }
        guard manifest.version == currentVersion else {
            throw refuse("its manifest has format version \(manifest.version); this partctl reads version \(currentVersion)")
        }
        guard (try? PartitionName(manifest.name)) != nil else { throw refuse("its manifest names the partition \(QuotedText.of(manifest.name)), which is not a valid name") }
        for nested in manifest.nested where (try? PartitionName(nested)) == nil {
            throw refuse("its manifest names the nested WPAR \(QuotedText.of(nested)), which is not a valid name")
        }
        let (required, optional) = allowedMembers(manifest.kind)
        var seen: Set<String> = []
        for member in manifest.members {
            guard required.contains(member.name) || optional.contains(member.name) else {
                throw refuse("its manifest lists the member \(QuotedText.of(member.name)), which an archive of a\(manifest.kind == .lpar ? "n LPAR" : " WPAR") does not hold")
            }
            guard seen.insert(member.name).inserted else { throw refuse("its manifest lists the member \(member.name) twice") }
            guard member.sha256.count == 64, member.sha256.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }) else {
                throw refuse("its manifest gives the member \(member.name) a SHA-256 that is not 64 lowercase hex digits")
            }
        }
        if let missing = required.subtracting(seen).sorted().first { throw refuse("its manifest lists no member \(missing)") }
        return manifest
    }

    func encoded() throws(PartitionError) -> [UInt8] {
        try JSONText.serialize(try StrictJSON.encode(self, what: "manifest"))
    }
}
