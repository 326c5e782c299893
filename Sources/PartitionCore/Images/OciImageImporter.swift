import Foundation
import Glibc
import PartitionImages
import PartitionModel
import SystemKit

/// Imports an OCI image into an image's staging directory: skopeo copies it from its transport
/// into an OCI layout there, partctl checks every blob's digest and every layer's entries
/// (OciLayerCheck) before anything is unpacked, umoci unpacks it as root into `rootfs/`, and the
/// image config's process defaults are read from the image itself.
///
/// References: `oci-archive:PATH[:TAG]`, `docker-archive:PATH[:REF]`, `oci:DIR[:TAG]` and
/// `docker://REF` (a registry, only where the host reaches one).
public struct OciImageImporter: ImageImporter {
    public static let transports = ["oci-archive:", "docker-archive:", "oci:", "docker://"]
    public var transports: [String] { Self.transports }

    /// What an import found, before it becomes the store's manifest.
    public struct Imported: Sendable, Equatable {
        /// The image manifest's digest ("sha256:…").
        public var digest: String
        /// Bytes the unpacked root takes on disk.
        public var size: UInt64
        public var entrypoint: [String]?
        public var cmd: [String]?
        public var env: [String]
        public var workdir: String?
        public var user: String?
    }

    /// The tag skopeo writes the copy under in the staging's layout.
    static let stagingTag = "image"

    public init() {}

    /// Whether `reference` names one of the transports this importer takes.
    public static func handles(_ reference: String) -> Bool {
        transports.contains { reference.hasPrefix($0) }
    }

    /// Imports `reference` into `staging` and returns its manifest (kind oci, the image manifest's
    /// digest, the config's process defaults); the caller commits it.
    public func `import`(reference: String, into staging: ImageStaging) throws(PartitionError) -> ImageManifest {
        try importImage(reference: reference, into: staging, progress: SilentImageProgress())
    }

    public func importImage(reference: String, into staging: ImageStaging, progress: any ImageProgress) throws(PartitionError) -> ImageManifest {
        let imported = try importImage(reference: reference, into: staging.directory, holding: staging.lockDescriptor) {
            progress.step(staging.name, $0)
        }
        return ImageManifest(name: staging.name, digest: imported.digest, kinds: [.oci], size: imported.size, source: reference,
                             config: ImageConfig(entrypoint: imported.entrypoint, cmd: imported.cmd, env: imported.env,
                                                 workdir: imported.workdir, user: imported.user))
    }

    /// Fills `directory` (an empty staging directory) with `rootfs/`; refused input throws with
    /// one line and leaves only what lies in `directory` (which the staging removes).
    /// `holding`: the staging lock, which skopeo and umoci hold too while they write there.
    public func importImage(reference: String, into directory: String, holding: Int32? = nil,
                            step: (String) -> Void = { _ in }) throws(PartitionError) -> Imported {
        try Self.checkReference(reference)
        guard geteuid() == 0 else {
            throw PartitionError(.permissionDenied, "Importing an OCI image needs root: umoci keeps the image's file owners only as root.")
        }
        let layout = "\(directory)/oci"
        let temporary = "\(directory)/tmp"
        guard mkdir(temporary, 0o700) == 0 else { throw POSIX.failure("create \(temporary)") }

        step("copying \(reference) with skopeo")
        // --tmpdir: skopeo 1.9 unpacks an oci-archive below /var/tmp whatever TMPDIR says, where a
        // killed import would leave it. skopeo checks what it copies as it copies it; partctl checks the copy again below, since
        // that copy is what umoci reads.
        let copied = try Self.tool(["skopeo", "--tmpdir", temporary, "copy", "--quiet", "--", reference, "oci:\(layout):\(Self.stagingTag)"],
                                temporary: temporary, holding: holding)
        guard copied.status == 0 else {
            let code: PartitionError.Code = reference.hasPrefix("docker://") ? .unavailable : .invalidArgument
            throw PartitionError(code, "Could not read the image \(QuotedText.of(reference, limit: 200)): \(Self.message(copied)).")
        }
        let image = try OciLayout(directory: layout, tag: Self.stagingTag)
        step("checking \(image.manifest.layers.count) layers")
        for (number, layer) in image.manifest.layers.enumerated() {
            let label = "layer \(number + 1) (\(layer.digest.prefix(19)))"
            try OciLayout.verify(layout, layer, label)
            try OciLayerCheck(label: label).check(blob: try OciLayout.blobPath(layout, layer),
                                                  diffID: image.config.rootfs?.diff_ids?[number])
        }

        step("unpacking with umoci")
        let bundle = "\(directory)/bundle"
        let unpacked = try Self.tool(["umoci", "--log=error", "unpack", "--image", "\(layout):\(Self.stagingTag)", bundle],
                                  temporary: temporary, holding: holding)
        guard unpacked.status == 0 else {
            throw PartitionError(.invalidArgument, "umoci could not unpack the image \(QuotedText.of(reference, limit: 200)): \(Self.message(unpacked)).")
        }
        guard rename("\(bundle)/rootfs", "\(directory)/rootfs") == 0 else { throw POSIX.failure("move the unpacked root into place") }
        for leftover in [bundle, layout, temporary] { try Self.remove(leftover) }
        try Self.addMountPoints("\(directory)/rootfs")

        let process = image.config.config
        return Imported(digest: image.manifestDigest, size: try Self.diskUsage("\(directory)/rootfs"),
                        entrypoint: process?.Entrypoint, cmd: process?.Cmd, env: process?.Env ?? [],
                        workdir: process?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 },
                        user: process?.User.flatMap { $0.isEmpty ? nil : $0 })
    }

    /// One line for a reference partctl does not take; a local file or directory must exist.
    static func checkReference(_ reference: String) throws(PartitionError) {
        guard let transport = transports.first(where: { reference.hasPrefix($0) }) else {
            throw PartitionError(.invalidArgument,
                "The image reference \(QuotedText.of(reference, limit: 200)) names no transport partctl imports from: oci-archive:PATH[:TAG], docker-archive:PATH, oci:DIR[:TAG] or docker://REF.")
        }
        guard !reference.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
            throw PartitionError(.invalidArgument, "The image reference \(QuotedText.of(reference, limit: 200)) contains a control character.")
        }
        guard transport != "docker://" else { return }
        let path = String(reference.dropFirst(transport.count).split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
        var status = stat()
        guard !path.isEmpty, stat(path, &status) == 0 else {
            throw PartitionError(.invalidArgument, "The image reference \(QuotedText.of(reference, limit: 200)) names \(QuotedText.of(path)), which does not exist.")
        }
        let isDirectory = (status.st_mode & S_IFMT) == S_IFDIR
        if transport == "oci:" ? !isDirectory : (status.st_mode & S_IFMT) != S_IFREG {
            throw PartitionError(.invalidArgument,
                "The image reference \(QuotedText.of(reference, limit: 200)) names \(QuotedText.of(path)), which is not \(transport == "oci:" ? "a directory (an OCI layout)" : "a file (an archive)").")
        }
    }

    /// Empty /proc, /dev, /sys, /tmp and /run where the image has none (as Docker's init layer
    /// adds them): a WPAR mounts its own there, on a root that a transient run keeps read-only.
    /// /proc, /dev and /sys must be real directories (a symlink there could aim a fresh /proc at a
    /// host path); the engine refuses the root otherwise, so the import does now.
    static func addMountPoints(_ root: String) throws(PartitionError) {
        for (name, mode) in [("proc", 0o555), ("dev", 0o755), ("sys", 0o555), ("tmp", 0o1777), ("run", 0o755)] as [(String, mode_t)] {
            var status = stat()
            if lstat("\(root)/\(name)", &status) == 0 {
                guard (status.st_mode & S_IFMT) == S_IFDIR || ["tmp", "run"].contains(name) else {
                    throw PartitionError(.invalidArgument, "The image's /\(name) is not a directory; a WPAR mounts its own /\(name) there.")
                }
                continue
            }
            guard mkdir("\(root)/\(name)", mode) == 0, chmod("\(root)/\(name)", mode) == 0 else {
                throw POSIX.failure("create /\(name) in the image's root")
            }
        }
    }

    static func remove(_ path: String) throws(PartitionError) {
        try TreeRemoval.remove(path)
    }

    /// skopeo or umoci with a temporary directory of the import's own (so that a killed import
    /// leaves nothing outside its staging), holding the staging lock.
    static func tool(_ arguments: [String], temporary: String, holding: Int32?) throws(PartitionError) -> HostProgram.Outcome {
        do throws(PartitionError) {
            return try HostProgram(arguments, environment: ["TMPDIR": temporary], holding: holding).run()
        } catch let error where error.code == .unavailable {
            throw PartitionError(.unsupported, "\(arguments[0]) is not installed; partctl imports OCI images with Debian's skopeo and umoci (apt install skopeo umoci).")
        }
    }

    /// A tool's last line, with Go's logrus wrapping (time="…" level=fatal msg="…") taken off.
    static func message(_ outcome: HostProgram.Outcome) -> String {
        var line = outcome.lastLine
        if let range = line.range(of: "msg=\""), line.hasSuffix("\"") {
            line = String(line[range.upperBound..<line.index(before: line.endIndex)])
            line = line.replacingOccurrences(of: "\\\"", with: "\"")
        }
        return line
    }

    static func diskUsage(_ path: String) throws(PartitionError) -> UInt64 {
        let counted = try HostProgram(["du", "-s", "-B1", "--", path]).run()
        guard counted.status == 0, let bytes = counted.output.split(whereSeparator: { $0 == "\t" || $0 == " " }).first.flatMap({ UInt64($0) }) else {
            throw PartitionError(.system, "Could not measure \(path): \(counted.lastLine).")
        }
        return bytes
    }
}
