import Foundation
import LibvirtKit
import PartitionImages
import PartitionModel

/// Which partitions name which image in their definition: host WPARs (their stored profile), LPARs
/// (the profile in partctl's metadata of the domain) and WPARs nested in LPARs (their definitions
/// in the same metadata). `image list` shows it; `image remove` is refused while it is not empty.
struct ImageUsers {
    /// Image name -> partition paths, sorted.
    private(set) var byImage: [String: [String]] = [:]
    /// Why the LPARs (and the WPARs nested in them) could not be looked at; nil when they were.
    private(set) var lparsUnknown: String?

    func users(of image: String) -> [String] { byImage[image] ?? [] }

    static func scan(_ manager: PartitionManager) -> ImageUsers {
        var users = ImageUsers()
        for status in manager.wpars().engine.statuses() {
            let json = status.annotations?[WorkloadSpecMapping.profileAnnotation]
            if let image = json.flatMap({ StoredImage.of($0)?.wpar?.image }) {
                users.add(image, status.name.rawValue)
            }
        }
        do {
            for domain in try manager.libvirt().listAllDomains() {
                guard let xml = try domain.metadata(uri: PartitionMetadata.namespaceURI) else { continue }
                let metadata = try PartitionMetadata(xml: xml, domain: domain.name)
                if let image = StoredImage.of(metadata.resolvedProfileJSON)?.lpar?.image {
                    users.add(image, domain.name)
                }
                for entry in metadata.nested.entries {
                    if let image = StoredImage.of(entry.profileJSON)?.wpar?.image {
                        users.add(image, "\(domain.name)/\(entry.name.rawValue)")
                    }
                }
            }
        } catch {
            users.lparsUnknown = error.message
        }
        for key in users.byImage.keys { users.byImage[key]?.sort() }
        return users
    }

    private mutating func add(_ image: String, _ path: String) {
        byImage[image, default: []].append(path)
    }

    /// Only `image` of a stored resolved profile: a listing must not validate every definition.
    private struct StoredImage: Decodable {
        struct Part: Decodable { let image: String? }
        let lpar: Part?
        let wpar: Part?

        static func of(_ json: String) -> StoredImage? {
            try? JSONDecoder().decode(StoredImage.self, from: Data(json.utf8))
        }
    }
}
