import PartitionImages
import PartitionModel
import SystemKit

/// `partctl image list|show|build|import|remove` below the command line: the store, the
/// producers, the users of each image and the pool's base volumes, put together.
public struct ImageCatalog {
    let manager: PartitionManager
    public let store: ImageStore

    public init(manager: PartitionManager) {
        self.manager = manager
        self.store = ImageStore(stateRoot: manager.configuration.stateRoot)
    }

    /// One image with the partitions that use it.
    public struct Listing: Sendable {
        public var manifest: ImageManifest
        public var usedBy: [String]
        /// The tree WPARs use, for kinds rootfs and oci.
        public var rootfs: String?
    }

    /// Every image (abandoned staging swept first); `usersUnknown` says why LPARs could not be read.
    public func list() throws(PartitionError) -> (images: [Listing], usersUnknown: String?) {
        let manifests = try store.list()
        let users = ImageUsers.scan(manager)
        return (manifests.map { listing($0, users) }, users.lparsUnknown)
    }

    public func show(_ text: String) throws(PartitionError) -> (image: Listing, usersUnknown: String?) {
        store.sweep()
        let manifest = try store.image(try ImageName(validating: text))
        let users = ImageUsers.scan(manager)
        return (listing(manifest, users), users.lparsUnknown)
    }

    private func listing(_ manifest: ImageManifest, _ users: ImageUsers) -> Listing {
        Listing(manifest: manifest, usedBy: users.users(of: manifest.name),
                rootfs: manifest.hasRootfs ? store.rootfs(manifest) : nil)
    }

    /// Builds the image of `recipe` (named after it); an image whose inputs are unchanged is kept
    /// as it is (`built` false).
    public func build(_ recipe: String, progress: any ImageProgress) throws(PartitionError) -> (manifest: ImageManifest, built: Bool) {
        let name = try ImageName(validating: recipe)
        guard let builder = ImageProducers.builder(for: recipe) else {
            let known = ImageProducers.recipes
            throw PartitionError(.notFound, "There is no recipe named '\(recipe)'; "
                + (known.isEmpty ? "this partctl has no image recipes." : "the recipes are: \(known.joined(separator: ", ")).")
                + " 'partctl image import' brings in an image of your own.")
        }
        let inputs = try builder.inputs(recipe: recipe)
        var replaced: ImageManifest?
        if store.contains(name) {
            let existing = try store.image(name)
            if let inputs, existing.inputs == inputs {
                store.sweep()
                return (existing, false)
            }
            try refuseIfUsed(existing, verb: "rebuild")
            replaced = existing
        }
        let staging = try store.stage(name, replacing: replaced != nil)
        progress.step(name, "building")
        var manifest = try builder.build(recipe: recipe, into: staging, progress: progress)
        if manifest.inputs == nil { manifest.inputs = inputs }
        try commit(manifest, staging, progress)
        // Nothing used the old one (refused above otherwise): its base volume and the file system
        // made of its tree for nested WPARs go with it, as `image remove` takes them.
        if let replaced, replaced.digest != manifest.digest {
            try? removeDerivedFiles(of: replaced)
        }
        return (manifest, true)
    }

    /// Imports `reference` as the image `name`; a name that exists is refused and nothing changes.
    public func importImage(_ reference: String, name text: String, progress: any ImageProgress) throws(PartitionError) -> ImageManifest {
        let name = try ImageName(validating: text)
        guard let importer = ImageProducers.importer(for: reference) else {
            throw PartitionError(.invalidArgument, "partctl cannot import \(QuotedText.of(reference, limit: 200)): "
                + "it names no transport partctl knows; the transports are \(ImageProducers.transports.joined(separator: " ")).")
        }
        let staging = try store.stage(name)
        let manifest = try importer.importImage(reference: reference, into: staging, progress: progress)
        try commit(manifest, staging, progress)
        return manifest
    }

    /// Removes the image `text`: refused while a partition names it; a disk image's base volume
    /// goes from the pool too.
    public func remove(_ text: String) throws(PartitionError) {
        let name = try ImageName(validating: text)
        let lock = try store.lock(name)
        store.sweep()
        let manifest = try store.image(name)
        try refuseIfUsed(manifest, verb: "remove")
        try store.remove(name, holding: lock)
        try removeDerivedFiles(of: manifest)
    }

    /// A disk image's base volume in the pool, and the read-only file system made of its tree for
    /// nested WPARs if one was (no LPAR uses either when this runs).
    private func removeDerivedFiles(of manifest: ImageManifest) throws(PartitionError) {
        if manifest.kinds.contains(.disk) {
            try ImageProducers.baseVolumes.remove(manifest, manager)
        }
        if manifest.hasRootfs { NestedImageDisk(image: manifest, stateRoot: manager.configuration.stateRoot).removeFile() }
    }

    private func commit(_ manifest: ImageManifest, _ staging: ImageStaging, _ progress: any ImageProgress) throws(PartitionError) {
        guard manifest.name == staging.name.text else {
            throw PartitionError(.internal, "The producer of '\(staging.name)' made a manifest named '\(manifest.name)'.")
        }
        if manifest.kinds.contains(.disk) {
            progress.step(staging.name, "storing the disk in the partctl pool")
            try ImageProducers.baseVolumes.upload(staging, manifest, manager)
        }
        try staging.commit(manifest)
    }

    /// Refused (exit 2, one line naming them) while any partition's definition names the image;
    /// an operation failure while the LPARs cannot be read, since one of them may.
    private func refuseIfUsed(_ manifest: ImageManifest, verb: String) throws(PartitionError) {
        let users = ImageUsers.scan(manager)
        let paths = users.users(of: manifest.name)
        if !paths.isEmpty {
            throw PartitionError(.invalidArgument,
                "The image '\(manifest.name)' is used by \(paths.joined(separator: ", ")); remove \(paths.count == 1 ? "that partition" : "those partitions") (or change their image) first.")
        }
        if let reason = users.lparsUnknown {
            throw PartitionError(.unavailable,
                "Cannot \(verb) the image '\(manifest.name)': partctl cannot see whether an LPAR or a nested WPAR uses it (\(reason))")
        }
    }
}

extension PartitionManager {
    public var images: ImageCatalog { ImageCatalog(manager: self) }
}
