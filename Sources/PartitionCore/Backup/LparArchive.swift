import LibvirtKit
import PartitionImages
import PartitionModel
import PartitionProfiles
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// An LPAR in a backup: `domain.xml` (its inactive domain XML, with partctl's metadata: the
/// resolved profile and the nested WPARs' definitions) and `disk.qcow2` (its system disk flattened
/// from its base into a standalone qcow2). A nested WPAR's writable layer lives in the guest (on the
/// disk, or in the guest's memory for partctl's minimal image), so it is in the disk or nowhere;
/// the images nested WPARs name are listed in the manifest and must be in the store where it is restored.
enum LparArchive {
    static let definitionMember = "domain.xml"
    static let diskMember = "disk.qcow2"
    static let definitionLimit = 4 << 20

    struct Staged {
        var members: [(name: String, path: String)]
        var state: String
        var consistency: String
        var nested: [String]
        var images: [String]
        var profile: String
    }

    /// Writes the LPAR's members into `staging`. A running LPAR is refused unless `allowRunning`,
    /// which pauses its vCPUs for the disk's copy (QEMU flushes its disk cache when it pauses) and
    /// resumes them after, also when the copy fails: the copy is then what a power cut would leave.
    static func stage(_ target: LparTarget, backend: LparBackend, staging: String, allowRunning: Bool) throws(PartitionError) -> Staged {
        let domain = target.domain
        let status = try domain.state()
        let running = status.state == .running || status.state == .paused
        if running && !allowRunning {
            throw PartitionError(.invalidState,
                "The LPAR is \(status.state == .paused ? "paused" : "running"); shut it down for a backup as after a clean stop, or add --force-running to pause it while its disk is copied (as after a power cut).")
        }
        let xml = try domain.xmlDesc(.inactive)
        let definition = staging + "/" + definitionMember
        try AtomicFile.write(Array(xml.utf8), to: definition, mode: 0o600, durable: false)
        var staged = Staged(members: [(definitionMember, definition)], state: status.state == .paused ? "paused" : running ? "running" : "defined",
                            consistency: running ? "paused for the copy (crash-consistent)" : "stopped (clean)",
                            nested: target.metadata.nested.entries.map(\.name.rawValue), images: [],
                            profile: target.metadata.profileName)
        for entry in target.metadata.nested.entries {
            let resolved = try ResolvedProfile.decode(json: entry.profileJSON, domain: "\(target.name)/\(entry.name)")
            if let image = resolved.wpar?.image, !staged.images.contains(image) { staged.images.append(image) }
        }
        let pool = ImagePool(connection: backend.connection, stateRoot: backend.configuration.stateRoot)
        guard let disk = try pool.systemDisk(of: target.name) else { return staged }
        let pausedHere = status.state == .running
        if pausedHere { try domain.suspend() }
        defer { if pausedHere { try? domain.resume() } }
        let flat = staging + "/" + diskMember
        try flatten(disk, pool: pool, local: backend.configuration.isLocal, staging: staging, to: flat, inUse: running)
        staged.members.append((diskMember, flat))
        return staged
    }

    /// `qemu-img convert` of the disk with its chain given explicitly (the base and nothing behind
    /// it: no backing file named in a header is followed). A remote system's volumes are downloaded
    /// through libvirt first.
    static func flatten(_ disk: LparSystemDisk, pool: ImagePool, local: Bool, staging: String, to output: String,
                        inUse: Bool) throws(PartitionError) {
        var overlay = disk.overlayPath
        var base = disk.basePath
        var downloads: [String] = []
        defer { for file in downloads { unlink(file) } }
        if !local {
            guard let started = try pool.existingPool() else {
                throw PartitionError(.notFound, "The storage pool '\(ImagePool.name)' is not running on the managed system.")
            }
            func fetch(_ path: String, as name: String) throws(PartitionError) -> String {
                let volumeName = String(path.split(separator: "/").last ?? "")
                guard let volume = try started.lookupVolume(name: volumeName) else {
                    throw PartitionError(.notFound, "The volume \(volumeName) is missing from the pool '\(ImagePool.name)'.")
                }
                let target = staging + "/" + name
                let fd = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw POSIX.failure("make \(target)") }
                downloads.append(target)
                defer { close(fd) }
                try volume.download(to: fd)
                return target
            }
            overlay = try fetch(disk.overlayPath, as: "download-overlay.qcow2")
            if let remoteBase = disk.basePath { base = try fetch(remoteBase, as: "download-base.qcow2") }
        }
        func file(_ path: String) -> JSONSpec { .object([("driver", .string("file")), ("filename", .string(path))]) }
        var backing: JSONSpec = .null
        if let base {
            backing = .object([("driver", .string(disk.baseFormat ?? "qcow2")), ("file", file(base)), ("backing", .null)])
        }
        let source = JSONSpec.object([("driver", .string("qcow2")), ("file", file(overlay)), ("backing", backing)])
        var arguments = [try qemuImg(), "convert"]
        // The running QEMU holds the image's lock; its vCPUs are paused and its cache flushed.
        if inUse && local { arguments.append("-U") }
        arguments += ["-O", "qcow2", "json:" + source.text, output]
        try HostProgram(arguments).check("flatten the disk of the LPAR into a standalone qcow2")
    }

    static func qemuImg() throws(PartitionError) -> String {
        guard let tool = HostProgram.find(["/usr/bin/qemu-img"]) else {
            throw PartitionError(.unavailable, "Backing up an LPAR's disk needs qemu-img (Debian package qemu-utils).")
        }
        return tool
    }
}

/// Just enough JSON for qemu-img's `json:` file names.
indirect enum JSONSpec {
    case string(String)
    case object([(String, JSONSpec)])
    case null

    var text: String {
        switch self {
        case .null: return "null"
        case .string(let value):
            var out = "\""
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20: out += JSONSpec.hex4(scalar.value)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        case .object(let fields):
            return "{" + fields.map { JSONSpec.string($0.0).text + ":" + $0.1.text }.joined(separator: ",") + "}"
        }
    }

    private static func hex4(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }
}
