import Foundation
import PartctlTestSupport
import PartitionCore
import PartitionImages
import PartitionModel

/// The debian-12 image of the repository's recipe, built once by the first test that needs it and
/// kept (with the builder's cache) under a state root of the tests' own, so a later run whose inputs
/// did not change reuses it instead of running mmdebstrap again (minutes).
enum SharedDebianImage {
    /// $PARTCTL_TEST_IMAGE_ROOT, default /var/tmp/partctl-test-images: outlives a test run on purpose.
    static var stateRoot: String {
        ProcessInfo.processInfo.environment["PARTCTL_TEST_IMAGE_ROOT"].flatMap { $0.isEmpty ? nil : $0 } ?? "/var/tmp/partctl-test-images"
    }
    static let recipe = "debian-12"
    static var deb: String { BuiltProducts.packageRoot + "/.build-guest/deb/partagent.deb" }

    /// What a builder needs to find the repository's recipe and package, whatever the tests' directory.
    static var environment: [String: String] {
        ["PARTCTL_ROOT": stateRoot, "PARTCTL_IMAGES": BuiltProducts.packageRoot + "/images", "PARTAGENT_DEB": deb]
    }

    static var builder: DebianImageBuilder { DebianImageBuilder(stateRoot: stateRoot, environment: environment) }
    static var store: ImageStore { ImageStore(stateRoot: stateRoot) }

    final class Lines: ImageProgress {
        var lines: [String] = []
        func step(_ image: ImageName, _ what: String) { lines.append(what) }
    }

    /// The committed image, built now when the store has none with today's inputs.
    static func ensure() throws -> (manifest: ImageManifest, built: Bool, progress: [String]) {
        guard FileManager.default.fileExists(atPath: deb) else {
            throw PartitionError(.unavailable, "No \(deb): run make deb first.")
        }
        let name = try ImageName(validating: recipe)
        let inputs = try builder.inputs(recipe: recipe)
        if store.contains(name), let existing = try? store.image(name), existing.inputs == inputs {
            return (existing, false, [])
        }
        let staging = try store.stage(name, replacing: store.contains(name))
        let progress = Lines()
        let manifest = try builder.build(recipe: recipe, into: staging, progress: progress)
        try staging.commit(manifest)
        return (manifest, true, progress.lines)
    }

    static func disk(_ manifest: ImageManifest) -> String { store.directory(try! ImageName(validating: manifest.name)) + "/disk.qcow2" }
}
