import LibvirtKit
import PartitionImages
import PartitionModel
import PartitionProfiles
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// An LPAR from a verified archive, checked as a `define` is before anything exists: its profile
/// (decoded from the archived metadata and validated again), its nested WPARs' profiles and the
/// images they name, its disk's header, the name on the destination. The domain is then built
/// afresh by partctl from that profile (DomainXML: nothing of the archived XML but partctl's
/// metadata is used), under the new name with a new UUID and new MACs, its disk the restored one.
struct LparRestore {
    let archive: VerifiedArchive
    let name: PartitionName
    let backend: LparBackend

    struct Checked {
        var resolved: ResolvedProfile
        var profile: LparProfile
        var metadata: PartitionMetadata
        var disk: (path: String, size: UInt64)?
    }

    func refuse(_ what: String) -> PartitionError { PartitionError(.invalidArgument, "\(archive.label): \(what).") }

    func check() throws(PartitionError) -> Checked {
        let xml = String(decoding: try archive.bytes(of: LparArchive.definitionMember, limit: LparArchive.definitionLimit), as: UTF8.self)
        let root: XMLNode
        do { root = try XMLReader.parse(xml) } catch { throw refuse("its \(LparArchive.definitionMember) is not readable XML (\(error.message))") }
        guard root.localName == "domain",
              let element = root.element(named: "metadata")?.elements(named: "partition")
                  .first(where: { $0.attribute("xmlns:\(PartitionMetadata.prefix)") == PartitionMetadata.namespaceURI || $0.attribute("xmlns") == PartitionMetadata.namespaceURI }) else {
            throw refuse("its \(LparArchive.definitionMember) holds no partctl metadata (not a domain partctl made)")
        }
        let metadata: PartitionMetadata
        do { metadata = try PartitionMetadata(xml: element.serialized(), domain: archive.manifest.name) } catch {
            throw refuse("its LPAR definition is not valid: \(error.message)")
        }
        let resolved: ResolvedProfile
        do { resolved = try ResolvedProfile.decode(json: metadata.resolvedProfileJSON, domain: archive.manifest.name) } catch {
            throw refuse(error.message.hasSuffix(".") ? String(error.message.dropLast()) : error.message)
        }
        guard let profile = resolved.lpar else { throw refuse("its definition is not an LPAR's") }
        let images = ImageStore(stateRoot: backend.configuration.stateRoot)
        for entry in metadata.nested.entries {
            let path = "\(archive.manifest.name)/\(entry.name)"
            let nested: ResolvedProfile
            do { nested = try ResolvedProfile.decode(json: entry.profileJSON, domain: path) } catch {
                throw refuse("the definition of its nested WPAR \(entry.name) is not valid: \(error.message)")
            }
            guard let wpar = nested.wpar else { throw refuse("its nested WPAR \(entry.name) has no WPAR profile") }
            if let image = wpar.image {
                guard let imageName = try? ImageName(validating: image), (try? images.image(imageName)) != nil else {
                    throw refuse("its nested WPAR \(entry.name) runs on the image '\(image)', which is not in this host's store; import or build it first")
                }
            }
        }
        var disk: (String, UInt64)?
        if let path = archive.members[LparArchive.diskMember] {
            disk = (path, try QcowHeader.checkRestorable(path, label: "\(archive.label): member \(LparArchive.diskMember)"))
        }
        try backend.checkHostFits(profile)
        try HostPaths.check(profile)
        if try backend.connection.lookupDomain(name: name.rawValue) != nil {
            throw PartitionError(.alreadyExists, "A domain named '\(name)' already exists on \(backend.configuration.connectURI); restore it under another name with --as.")
        }
        return Checked(resolved: resolved, profile: profile, metadata: metadata, disk: disk)
    }

    /// Creates the LPAR from what `check` accepted; on any failure what it made is removed again.
    func create(_ checked: Checked, accelerator: Acceleration) throws(PartitionError) -> [String] {
        var notes: [String] = []
        let leases = backend.leases
        let adapters = try leases.lparAdapters(name.rawValue, profile: checked.profile)
        let pool = ImagePool(connection: backend.connection, stateRoot: backend.configuration.stateRoot)
        var domain: LibvirtDomain?
        do throws(PartitionError) {
            try pool.removeVolumes(of: name)
            let uuid = try LparDisks.newUUID()
            var made = LparDisks.Made()
            if let disk = checked.disk {
                made.systemDisk = LparSystemDisk(overlayPath: try putDisk(disk.path, size: disk.size, pool: pool), basePath: nil, baseFormat: nil)
            }
            if LparDisks.needsSeed(checked.profile, hasImage: made.systemDisk != nil) {
                made.seedPath = try backend.lparDisks().writeSeed(for: name, profile: checked.profile, uuid: uuid)
            }
            var metadata = PartitionMetadata(profileName: checked.metadata.profileName, resolvedProfileJSON: checked.metadata.resolvedProfileJSON,
                                             accelerator: accelerator, description: checked.resolved.description)
            metadata.nested = checked.metadata.nested
            var builder = DomainXML(name: name, profile: checked.profile, accelerator: accelerator, metadata: metadata,
                                    consoleLogPath: DomainXML.defaultConsoleLogPath(for: name))
            builder.uuid = uuid
            // New MACs: libvirt picks them (a fixed one would clash with the original's).
            for index in builder.profile.network.indices where builder.profile.network[index].mac != nil {
                builder.profile.network[index].mac = nil
                notes.append("adapter \(index) gets a new MAC instead of the profile's fixed \(checked.profile.network[index].mac!)")
            }
            if let graphics = checked.profile.graphics { builder.graphicsPassword = try GraphicsPassword.read(graphics) }
            builder.systemDisk = made.systemDisk
            builder.seedPath = made.seedPath
            builder.managedAdapters = adapters
            let defined = try backend.connection.defineDomain(xml: builder.serialized())
            domain = defined
            if checked.profile.autostart { try defined.setAutostart(true) }
            return notes
        } catch {
            if let domain { try? domain.undefine() }
            try? pool.removeVolumes(of: name)
            try? leases.releaseAll(name.rawValue)
            throw error
        }
    }

    /// The staged disk as the LPAR's volume `lpar-<name>.qcow2`: moved into the pool on this
    /// machine, uploaded through libvirt (virStorageVolUpload) to a remote one.
    private func putDisk(_ path: String, size: UInt64, pool: ImagePool) throws(PartitionError) -> String {
        let started = try pool.pool()
        let volumeName = ImagePool.overlayName(name)
        guard chmod(path, 0o600) == 0 else { throw POSIX.failure("make the restored disk root's alone") }
        // link() never replaces: a volume of that name appearing meanwhile is not overwritten. On
        // another file system (or another machine) the disk goes through libvirt instead.
        if backend.configuration.isLocal && link(path, pool.directory + "/" + volumeName) == 0 {
            unlink(path)
            try started.refresh()
        } else {
            if backend.configuration.isLocal && errno != EXDEV { throw POSIX.failure("move the restored disk into \(pool.directory)") }
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw POSIX.failure("open the restored disk \(path)") }
            defer { close(fd) }
            var info = stat()
            guard fstat(fd, &info) == 0 else { throw POSIX.failure("read the size of \(path)") }
            let volume = try started.createVolume(xml: pool.volumeXML(name: volumeName, capacity: UInt64(info.st_size), format: "raw", mode: "0600"))
            do {
                try volume.upload(from: fd, length: UInt64(info.st_size))
                try started.refresh()
            } catch {
                try? volume.delete()
                throw error
            }
        }
        guard let volume = try started.lookupVolume(name: volumeName) else {
            throw PartitionError(.libvirt, "The restored disk \(volumeName) did not appear in the pool '\(ImagePool.name)'.")
        }
        return try volume.path()
    }
}

extension QcowHeader {
    /// A disk from an archive: a qcow2 file (version 2 or 3) that names no backing file and no
    /// external data file (QEMU would open either path), with no incompatible feature partctl does
    /// not know. Returns its virtual size.
    static func checkRestorable(_ path: String, label: String) throws(PartitionError) -> UInt64 {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw POSIX.failure("open \(path)") }
        defer { close(fd) }
        var header = [UInt8](repeating: 0, count: 104)
        let count = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 104, 0) }
        func field(_ offset: Int, _ width: Int) -> UInt64 {
            header[offset..<(offset + width)].reduce(0) { $0 << 8 | UInt64($1) }
        }
        guard count >= 72, header[0..<4] == [0x51, 0x46, 0x49, 0xfb] else {
            throw PartitionError(.invalidArgument, "\(label) is not a qcow2 image.")
        }
        let version = field(4, 4)
        guard version == 2 || (version == 3 && count == 104) else {
            throw PartitionError(.invalidArgument, "\(label) is a qcow2 image of version \(version), which partctl does not restore.")
        }
        guard field(8, 8) == 0 else {
            throw PartitionError(.invalidArgument, "\(label) names a backing file; a restored disk must stand alone.")
        }
        if version == 3 {
            // Bit 0 dirty, 1 corrupt, 3 compression type, 4 extended L2; bit 2 is an external data file.
            let incompatible = field(72, 8)
            if incompatible & 0b100 != 0 {
                throw PartitionError(.invalidArgument, "\(label) keeps its data in an external file; a restored disk must stand alone.")
            }
            if incompatible & ~UInt64(0b11011) != 0 {
                throw PartitionError(.invalidArgument, "\(label) uses qcow2 features partctl does not know (\(String(incompatible, radix: 2))).")
            }
        }
        return field(24, 8)
    }
}
