import PartitionImages
import PartitionModel

/// What a long image operation tells its user ("debian-12: running mmdebstrap"); the command
/// layer decides how (or whether) to show it.
public protocol ImageProgress: AnyObject {
    func step(_ image: ImageName, _ what: String)
}

public final class SilentImageProgress: ImageProgress {
    public init() {}
    public func step(_ image: ImageName, _ what: String) {}
}

/// Makes images from a named recipe: `partctl image build NAME` (the Debian builder).
public protocol ImageBuilder: Sendable {
    /// The recipes it builds, e.g. ["debian-12"]; the image is named after its recipe.
    var recipes: [String] { get }
    /// The cache key of `recipe` as it would be built now; an image whose `inputs` equal it is not
    /// built again. nil: always build.
    func inputs(recipe: String) throws(PartitionError) -> String?
    /// Fills `staging` (its `rootfs` and/or `disk`) and returns the manifest to commit.
    func build(recipe: String, into staging: ImageStaging, progress: any ImageProgress) throws(PartitionError) -> ImageManifest
}

/// Brings an image in from a reference: `partctl image import REF --name NAME`.
public protocol ImageImporter: Sendable {
    /// The reference prefixes it takes: "dir:", "oci-archive:", ...
    var transports: [String] { get }
    /// Fills `staging` and returns the manifest to commit. Refused input is one line, and leaves
    /// nothing outside the staging directory (which is removed).
    func importImage(reference: String, into staging: ImageStaging, progress: any ImageProgress) throws(PartitionError) -> ImageManifest
}

/// What a disk image's base volume in the `partctl` libvirt pool needs at commit and removal.
/// The pool's code (ImagePool, the LPAR-disk part of issue 10) plugs in here; without it a disk
/// image cannot be committed (nothing would hold its base volume).
public struct ImageBaseVolumes: Sendable {
    /// Before commit: put `staging.disk` into the pool as `manifest.disk.volume`.
    public var upload: @Sendable (ImageStaging, ImageManifest, PartitionManager) throws(PartitionError) -> Void
    /// After the image left the store: delete its base volume.
    public var remove: @Sendable (ImageManifest, PartitionManager) throws(PartitionError) -> Void

    public init(upload: @escaping @Sendable (ImageStaging, ImageManifest, PartitionManager) throws(PartitionError) -> Void,
                remove: @escaping @Sendable (ImageManifest, PartitionManager) throws(PartitionError) -> Void) {
        self.upload = upload
        self.remove = remove
    }

    static let unavailable = ImageBaseVolumes(
        upload: { _, manifest, _ throws(PartitionError) in
            throw PartitionError(.unsupported, "The image '\(manifest.name)' has a disk, and this partctl has no storage pool code to keep its base volume.")
        },
        remove: { _, _ throws(PartitionError) in })
}

/// The producers `partctl image` knows: one line each.
public enum ImageProducers {
    public static var builders: [any ImageBuilder] { [DebianImageBuilder.fromEnvironment()] }
    public static var importers: [any ImageImporter] { [DirectoryImageImporter(), OciImageImporter()] }
    public static var baseVolumes: ImageBaseVolumes { .pool }

    static func builder(for recipe: String) -> (any ImageBuilder)? {
        builders.first { $0.recipes.contains(recipe) }
    }

    static func importer(for reference: String) -> (any ImageImporter)? {
        importers.first { importer in importer.transports.contains { reference.hasPrefix($0) } }
    }

    static var transports: [String] { importers.flatMap(\.transports) }
    static var recipes: [String] { builders.flatMap(\.recipes) }
}
