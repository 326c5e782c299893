import LibvirtKit
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// The disk of an LPAR built from an image: its overlay and the base behind it.
public struct LparSystemDisk: Sendable, Equatable {
    /// The overlay's path on the managed system (`<pool>/lpar-<name>.qcow2`).
    public var overlayPath: String
    /// The base volume's path; the chain ends there (QEMU never reads a backing file named in its header).
    /// nil for a standalone disk (a restored backup's, flattened from its base): no chain at all.
    public var basePath: String?
    public var baseFormat: String?

    public var isStandalone: Bool { basePath == nil }
}

extension ImagePool {
    // MARK: Base volumes

    /// Makes the staged disk of an image (a qcow2 file of its own: no backing file) the base volume
    /// `volume`, moving it into the pool on this machine, or uploading it through libvirt when the
    /// managed system is remote. Existing already (same name = same digest): the staged file goes.
    /// Returns the volume's path.
    @discardableResult
    public func addBase(from stagingDisk: String, volume name: String, local: Bool) throws(PartitionError) -> String {
        let pool = try pool()
        let descriptor = open(stagingDisk, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw POSIX.failure("open the staged disk \(stagingDisk)", errno: errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw PartitionError(.invalidArgument, "The staged disk \(stagingDisk) is not a regular file.")
        }
        try QcowHeader.checkStandalone(descriptor: descriptor, path: stagingDisk)
        if let existing = try pool.lookupVolume(name: name) {
            _ = unlink(stagingDisk)
            return try existing.path()
        }
        if local {
            // Read-only, and root's alone: the pool directory lets QEMU (and so every host user) pass,
            // and an image may hold what its owner would not show to other users. libvirt hands the
            // file to QEMU's user for as long as a domain uses it (dynamic ownership).
            guard fchmod(descriptor, 0o400) == 0 else { throw POSIX.failure("make \(stagingDisk) read-only", errno: errno) }
            let target = directory + "/" + name
            guard rename(stagingDisk, target) == 0 else { throw POSIX.failure("move \(stagingDisk) into \(directory)", errno: errno) }
            try pool.refresh()
        } else {
            let volume = try pool.createVolume(xml: volumeXML(name: name, capacity: UInt64(info.st_size), format: "raw", mode: "0400"))
            do {
                try volume.upload(from: descriptor, length: UInt64(info.st_size))
                try pool.refresh()
            } catch {
                try? volume.delete()
                throw error
            }
        }
        guard let volume = try pool.lookupVolume(name: name) else {
            throw PartitionError(.libvirt, "The base volume \(name) did not appear in the pool '\(ImagePool.name)'.")
        }
        return try volume.path()
    }

    /// Deletes a base volume; one that is already gone is fine.
    public func removeBase(volume name: String) throws(PartitionError) {
        guard let pool = try existingPool(), let volume = try pool.lookupVolume(name: name) else { return }
        try volume.delete()
    }

    // MARK: Overlays and seeds of LPARs

    /// Creates the LPAR's overlay on `base` through libvirt (a qcow2 volume with a backing store):
    /// it holds only what the LPAR writes. A leftover of a define that died is replaced.
    public func createOverlay(for lpar: PartitionName, base name: String) throws(PartitionError) -> LparSystemDisk {
        let pool = try pool()
        guard let base = try pool.lookupVolume(name: name) else {
            throw PartitionError(.notFound, "The base volume \(name) is missing from the pool '\(ImagePool.name)'; build or import the image again.")
        }
        let basePath = try base.path()
        let capacity = try base.info().capacity
        if let leftover = try pool.lookupVolume(name: ImagePool.overlayName(lpar)) { try leftover.delete() }
        var xml = volumeNode(name: ImagePool.overlayName(lpar), capacity: capacity, format: "qcow2", mode: "0600")
        xml.append(XMLNode("backingStore", children: [
            .element(XMLNode("path", text: basePath)),
            .element(XMLNode("format", [("type", "qcow2")])),
        ]))
        let overlay = try pool.createVolume(xml: xml.serialized())
        return LparSystemDisk(overlayPath: try overlay.path(), basePath: basePath, baseFormat: "qcow2")
    }

    /// The LPAR's overlay as it is: its path and the base its volume names. Nil when it has none.
    public func systemDisk(of lpar: PartitionName) throws(PartitionError) -> LparSystemDisk? {
        guard let pool = try existingPool(), let overlay = try pool.lookupVolume(name: ImagePool.overlayName(lpar)) else { return nil }
        let xml = try overlay.xmlDesc()
        guard let root = try? XMLReader.parse(xml) else {
            throw PartitionError(.libvirt, "The volume description of \(ImagePool.overlayName(lpar)) is not readable.")
        }
        // A restored backup's disk stands alone (BackupRestore): no backing store to name.
        guard let backing = root.element(named: "backingStore"), let path = backing.element(named: "path")?.text else {
            return LparSystemDisk(overlayPath: try overlay.path(), basePath: nil, baseFormat: nil)
        }
        let format = backing.element(named: "format")?.attribute("type") ?? "qcow2"
        return LparSystemDisk(overlayPath: try overlay.path(), basePath: path, baseFormat: format)
    }

    /// Puts the NoCloud seed ISO into the pool as the LPAR's seed volume, through libvirt; 0600: its
    /// user-data may hold secrets (libvirt gives it to QEMU's user while the LPAR runs).
    public func putSeed(for lpar: PartitionName, isoPath: String) throws(PartitionError) -> String {
        let pool = try pool()
        let name = ImagePool.seedName(lpar)
        if let leftover = try pool.lookupVolume(name: name) { try leftover.delete() }
        let descriptor = open(isoPath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard descriptor >= 0 else { throw POSIX.failure("open the seed image \(isoPath)", errno: errno) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw POSIX.failure("read the size of \(isoPath)", errno: errno) }
        let volume = try pool.createVolume(xml: volumeXML(name: name, capacity: UInt64(info.st_size), format: "raw", mode: "0600"))
        do {
            try volume.upload(from: descriptor, length: UInt64(info.st_size))
        } catch {
            try? volume.delete()
            throw error
        }
        return try volume.path()
    }

    /// The path the seed volume has (or would have).
    public func seedPath(_ lpar: PartitionName) -> String { directory + "/" + ImagePool.seedName(lpar) }

    /// Deletes the LPAR's overlay and seed; missing ones are fine.
    public func removeVolumes(of lpar: PartitionName) throws(PartitionError) {
        guard let pool = try existingPool() else { return }
        for name in [ImagePool.overlayName(lpar), ImagePool.seedName(lpar)] {
            try pool.lookupVolume(name: name)?.delete()
        }
    }

    /// The LPAR names whose overlay or seed is in the pool.
    public func lparsWithVolumes() throws(PartitionError) -> Set<String> {
        guard let pool = try existingPool() else { return [] }
        var names: Set<String> = []
        for volume in try pool.volumes() {
            let name = volume.name
            guard name.hasPrefix("lpar-") else { continue }
            var rest = name.dropFirst(5)
            if rest.hasSuffix("-seed.iso") { rest = rest.dropLast(9) } else if rest.hasSuffix(".qcow2") { rest = rest.dropLast(6) } else { continue }
            names.insert(String(rest))
        }
        return names
    }

    // MARK: XML

    func volumeNode(name: String, capacity: UInt64, format: String, mode: String) -> XMLNode {
        var volume = XMLNode("volume")
        volume.append(XMLNode("name", text: name))
        volume.append(XMLNode("capacity", [("unit", "bytes")], text: String(capacity)))
        volume.append(XMLNode("allocation", [("unit", "bytes")], text: "0"))
        volume.append(XMLNode("target", children: [
            .element(XMLNode("format", [("type", format)])),
            .element(XMLNode("permissions", children: [.element(XMLNode("mode", text: mode))])),
        ]))
        return volume
    }

    func volumeXML(name: String, capacity: UInt64, format: String, mode: String) -> String {
        volumeNode(name: name, capacity: capacity, format: format, mode: mode).serialized()
    }
}

/// The few bytes of a qcow2 header partctl checks before it trusts a file as a base volume.
enum QcowHeader {
    /// A qcow2 file that names no backing file: a base must hold all of its data itself.
    static func checkStandalone(descriptor: Int32, path: String) throws(PartitionError) {
        var header = [UInt8](repeating: 0, count: 16)
        let count = header.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, 16, 0) }
        guard count == 16, header[0..<4] == [0x51, 0x46, 0x49, 0xfb] else {
            throw PartitionError(.invalidArgument, "The disk \(path) is not a qcow2 image.")
        }
        // Bytes 8-15: the offset of the backing file's name, 0 when there is none.
        guard header[8..<16].allSatisfy({ $0 == 0 }) else {
            throw PartitionError(.invalidArgument, "The disk \(path) names a backing file; a base image must stand alone.")
        }
    }
}
