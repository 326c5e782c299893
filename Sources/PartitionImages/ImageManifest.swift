import Foundation
import PartitionModel

/// What an image holds: a bootable disk for LPARs, a root file system tree for WPARs, or an OCI
/// image (a tree plus the process defaults of its config).
public enum ImageKind: String, Sendable, Codable, Hashable, CaseIterable {
    case disk, rootfs, oci
}

/// An image's base volume in the `partctl` pool (kind disk).
public struct ImageDisk: Sendable, Codable, Equatable {
    /// `image-<name>-<digest 12 hex>.qcow2`.
    public var volume: String
    public var format: String
    /// The virtual size in bytes.
    public var capacity: UInt64
    /// How it boots: "bios", "uefi", or both.
    public var firmware: [String]

    public init(volume: String, format: String = "qcow2", capacity: UInt64, firmware: [String]) {
        self.volume = volume
        self.format = format
        self.capacity = capacity
        self.firmware = firmware
    }

    /// The base volume name the contract gives an image: `image-debian-12-0123456789ab.qcow2`.
    public static func volumeName(image: String, digest: String) -> String {
        let hex = digest.hasPrefix("sha256:") ? String(digest.dropFirst(7)) : digest
        return "image-\(image)-\(hex.prefix(12)).qcow2"
    }
}

/// The process defaults of an OCI image's config (kind oci), as an application WPAR takes them.
public struct ImageConfig: Sendable, Codable, Equatable {
    public var entrypoint: [String]?
    public var cmd: [String]?
    public var env: [String]
    public var workdir: String?
    public var user: String?

    public init(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String] = [], workdir: String? = nil,
                user: String? = nil) {
        self.entrypoint = entrypoint
        self.cmd = cmd
        self.env = env
        self.workdir = workdir
        self.user = user
    }
}

/// `store/<name>/image.json`: an image exists iff this file is in a committed directory.
public struct ImageManifest: Sendable, Codable, Equatable {
    public var name: String
    /// `sha256:<64 hex>` of the content: the rootfs listing and disk bytes, or the OCI manifest digest.
    public var digest: String
    public var kinds: [ImageKind]
    /// Bytes on disk (the tree and the disk file as stored).
    public var size: UInt64
    /// RFC 3339, UTC.
    public var created: String
    /// Where it came from: "mmdebstrap bookworm", "oci-archive:/tmp/app.tar", "dir:/srv/tree".
    public var source: String
    /// A build recipe's cache key; nil for imports.
    public var inputs: String?
    public var disk: ImageDisk?
    public var config: ImageConfig?

    public init(name: ImageName, digest: String, kinds: [ImageKind], size: UInt64, created: String = ImageManifest.now(),
                source: String, inputs: String? = nil, disk: ImageDisk? = nil, config: ImageConfig? = nil) {
        self.name = name.text
        self.digest = digest
        self.kinds = kinds
        self.size = size
        self.created = created
        self.source = source
        self.inputs = inputs
        self.disk = disk
        self.config = config
    }

    /// Whether WPARs can use it as a root: kinds rootfs and oci have `rootfs/`.
    public var hasRootfs: Bool { kinds.contains(.rootfs) || kinds.contains(.oci) }

    /// The digest's first 12 hex digits, as `image list` shows it.
    public var shortDigest: String {
        let hex = digest.hasPrefix("sha256:") ? digest.dropFirst(7) : Substring(digest)
        return String(hex.prefix(12))
    }

    /// The current time in RFC 3339 (UTC, seconds).
    public static func now() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date())
    }

    /// The manifest as written to image.json: sorted keys, indented, a final newline.
    public func encoded() throws(PartitionError) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            return Array(try encoder.encode(self)) + [0x0a]
        } catch {
            throw PartitionError(.internal, "Could not encode the manifest of image '\(name)': \(error).")
        }
    }

    /// Reads a manifest; `path` only names the file in the message when it is not one.
    public static func decode(_ bytes: [UInt8], path: String) throws(PartitionError) -> ImageManifest {
        let manifest: ImageManifest
        do {
            manifest = try JSONDecoder().decode(ImageManifest.self, from: Data(bytes))
        } catch {
            throw PartitionError(.invalidState, "The image manifest \(path) is not one partctl wrote: it does not decode (\(error)).")
        }
        try manifest.check(path: path)
        return manifest
    }

    /// What a manifest must hold for the rest of partctl to trust its fields as names and paths.
    func check(path: String) throws(PartitionError) {
        if ImageNameRule.problem(name) != nil {
            throw PartitionError(.invalidState, "The image manifest \(path) names \(QuotedText.of(name)), which is not an image name.")
        }
        if !ImageDigest.isValid(digest) {
            throw PartitionError(.invalidState, "The image manifest \(path) has the digest \(QuotedText.of(digest)); expected sha256: and 64 hex digits.")
        }
        if kinds.isEmpty {
            throw PartitionError(.invalidState, "The image manifest \(path) has no kinds; expected disk, rootfs or oci.")
        }
        if kinds.contains(.disk) != (disk != nil) {
            throw PartitionError(.invalidState, "The image manifest \(path) must have a disk section exactly when its kinds include disk.")
        }
        if let volume = disk?.volume, volume.contains("/") || volume.hasPrefix(".") {
            throw PartitionError(.invalidState, "The image manifest \(path) names the volume \(QuotedText.of(volume)), which is not a volume name.")
        }
    }
}
