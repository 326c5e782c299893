import Foundation
import Glibc
import PartitionImages
import PartitionModel
import SystemKit

/// An OCI image layout (image-spec `image-layout.md`) that skopeo wrote into an import's staging
/// directory, read and checked: the tagged manifest, its config and its layers, every blob against
/// its digest and size before anything uses it.
struct OciLayout {
    struct Descriptor: Decodable {
        var mediaType: String?
        var digest: String
        var size: Int64
        var annotations: [String: String]?
    }

    struct Index: Decodable {
        var manifests: [Descriptor]
    }

    struct Manifest: Decodable {
        var mediaType: String?
        var config: Descriptor
        var layers: [Descriptor]
    }

    /// The parts of the image config (image-spec `config.md`) partctl uses.
    struct ConfigFile: Decodable {
        struct Process: Decodable {
            var Entrypoint: [String]?
            var Cmd: [String]?
            var Env: [String]?
            var WorkingDir: String?
            var User: String?
        }
        struct RootFS: Decodable {
            var type: String?
            var diff_ids: [String]?
        }
        var os: String?
        var architecture: String?
        var config: Process?
        var rootfs: RootFS?
    }

    let directory: String
    /// The manifest's digest: the image's identity (what `docker images --digests` shows).
    let manifestDigest: String
    let manifest: Manifest
    let config: ConfigFile

    /// Reads the manifest tagged `tag` and its config, each checked against its digest.
    init(directory: String, tag: String) throws(PartitionError) {
        self.directory = directory
        let index: Index = try Self.decode(try Self.read("\(directory)/index.json", limit: 1 << 20), "the layout's index.json")
        let tagged = index.manifests.filter { $0.annotations?["org.opencontainers.image.ref.name"] == tag }
        guard tagged.count == 1, let descriptor = tagged.first else {
            throw PartitionError(.invalidArgument, "The copied image has \(tagged.count) manifests tagged '\(tag)' instead of one.")
        }
        manifestDigest = descriptor.digest
        manifest = try Self.decode(try Self.blob(directory, descriptor, "manifest", limit: 4 << 20), "the image manifest")
        config = try Self.decode(try Self.blob(directory, manifest.config, "config", limit: 4 << 20), "the image config")
        guard (config.os ?? "linux") == "linux" else {
            throw PartitionError(.invalidArgument, "The image is built for the OS '\(config.os ?? "")', not linux.")
        }
        if let diffIDs = config.rootfs?.diff_ids, diffIDs.count != manifest.layers.count {
            throw PartitionError(.invalidArgument,
                "The image config lists \(diffIDs.count) layers (diff_ids) but its manifest \(manifest.layers.count).")
        }
    }

    /// Where a blob lies, after its digest has been checked for form (nothing but sha256 and hex).
    static func blobPath(_ directory: String, _ descriptor: Descriptor) throws(PartitionError) -> String {
        let parts = descriptor.digest.split(separator: ":", maxSplits: 1)
        let hex = Set("0123456789abcdef".utf8)
        guard parts.count == 2, parts[0] == "sha256", parts[1].utf8.count == 64, parts[1].utf8.allSatisfy(hex.contains) else {
            throw PartitionError(.invalidArgument, "The image names the blob \(QuotedText.of(descriptor.digest)), which is not a sha256 digest.")
        }
        return "\(directory)/blobs/sha256/\(parts[1])"
    }

    /// Checks a blob's size and SHA-256 against its descriptor by reading it once.
    static func verify(_ directory: String, _ descriptor: Descriptor, _ what: String) throws(PartitionError) {
        _ = try blob(directory, descriptor, what, limit: nil)
    }

    /// A blob's bytes (up to `limit`; nil: read, hashed and dropped) after its digest matched.
    private static func blob(_ directory: String, _ descriptor: Descriptor, _ what: String, limit: Int?) throws(PartitionError) -> [UInt8] {
        let path = try blobPath(directory, descriptor)
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw PartitionError(.invalidArgument, "The image's \(what) blob \(descriptor.digest) is missing from the copied image.")
        }
        defer { close(fd) }
        if let limit, descriptor.size > Int64(limit) {
            throw PartitionError(.invalidArgument, "The image's \(what) is \(descriptor.size) bytes, more than partctl reads (\(limit)).")
        }
        var hash = SHA256()
        var kept: [UInt8] = []
        var total: Int64 = 0
        let chunk = 1 << 16
        let failed: Int32? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { space -> Int32? in
            while true {
                let n = POSIX.retryingInterrupts { Glibc.read(fd, space.baseAddress, chunk) }
                if n < 0 { return errno }
                if n == 0 { return nil }
                let bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(space)[..<n])
                hash.update(bytes)
                total += Int64(n)
                if limit != nil && total <= descriptor.size { kept.append(contentsOf: bytes) }
            }
        }
        if let failed { throw POSIX.failure("read the image's \(what)", errno: failed) }
        guard total == descriptor.size, hash.finishDigest() == descriptor.digest else {
            throw PartitionError(.invalidArgument,
                "The image's \(what) blob does not match its digest \(descriptor.digest)\(total == descriptor.size ? "" : " (\(total) bytes, \(descriptor.size) expected)"): it is corrupt or was altered.")
        }
        return kept
    }

    private static func read(_ path: String, limit: Int) throws(PartitionError) -> [UInt8] {
        switch FileIO.readFile(path, limit: limit) {
        case .success(let bytes): return bytes
        case .failure(let error): throw POSIX.failure("read \(path)", errno: error.rawValue)
        }
    }

    private static func decode<T: Decodable>(_ bytes: [UInt8], _ what: String) throws(PartitionError) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch {
            throw PartitionError(.invalidArgument, "The image's \(what) is not valid JSON of its kind.")
        }
    }
}
