import LibvirtKit
import PartitionImages
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// The LPAR disks of the managed system: libvirt's storage pool `partctl`, a directory pool at
/// `$PARTCTL_ROOT/pool` (0711: QEMU passes through, nobody lists it). It holds a read-only base
/// volume per disk image, a thin qcow2 overlay per LPAR and an LPAR's NoCloud seed, so that
/// `virsh vol-list partctl` shows every one. Defined, built, started and marked autostart on first use.
public struct ImagePool {
    public static let name = "partctl"
    public let connection: LibvirtConnection
    /// `$PARTCTL_ROOT/pool` on the managed system.
    public let directory: String

    public init(connection: LibvirtConnection, stateRoot: String) {
        self.connection = connection
        self.directory = stateRoot + "/pool"
    }

    // MARK: Names (THE IMAGE CONTRACT)

    /// `image-<name>-<12 hex of the digest>.qcow2`.
    public static func baseVolumeName(image: String, digest: String) -> String {
        ImageDisk.volumeName(image: image, digest: digest)
    }

    /// The base volume an LPAR profile's `image:` boots from; nil without one. An image without a
    /// disk, or one whose disk does not boot with the profile's firmware, is refused.
    static func baseVolume(for profile: LparProfile, stateRoot: String) throws(PartitionError) -> String? {
        guard let image = profile.image else { return nil }
        let manifest = try ImageStore(stateRoot: stateRoot).image(try ImageName(validating: image))
        guard let disk = manifest.disk else {
            throw PartitionError(.invalidProfile,
                "image: '\(image)' has no disk (it is \(manifest.kinds.map(\.rawValue).joined(separator: ", "))); an LPAR boots from an image of kind disk.")
        }
        let firmware = profile.boot.firmware.rawValue
        guard disk.firmware.isEmpty || disk.firmware.contains(firmware) else {
            throw PartitionError(.invalidProfile,
                "image: '\(image)' boots with \(disk.firmware.joined(separator: " or ")), not with boot.firmware \(firmware).")
        }
        return disk.volume
    }

    public static func overlayName(_ lpar: PartitionName) -> String { "lpar-\(lpar.rawValue).qcow2" }
    public static func seedName(_ lpar: PartitionName) -> String { "lpar-\(lpar.rawValue)-seed.iso" }

    // MARK: The pool

    func poolXML() -> String {
        var pool = XMLNode("pool", [("type", "dir")])
        pool.append(XMLNode("name", text: ImagePool.name))
        pool.append(XMLNode("target", children: [
            .element(XMLNode("path", text: directory)),
            .element(XMLNode("permissions", children: [
                .element(XMLNode("mode", text: "0711")),
                .element(XMLNode("owner", text: "0")),
                .element(XMLNode("group", text: "0")),
            ])),
        ]))
        return pool.serialized()
    }

    /// The started pool, defined (and its directory built) if missing, started if stopped.
    /// A pool of that name that points elsewhere is not partctl's to change: refused.
    public func pool() throws(PartitionError) -> LibvirtStoragePool {
        let pool: LibvirtStoragePool
        if let existing = try connection.lookupStoragePool(name: ImagePool.name) {
            pool = existing
            let xml = try pool.xmlDesc()
            guard let path = (try? XMLReader.parse(xml))?.element(named: "target")?.element(named: "path")?.text,
                  path == directory else {
                throw PartitionError(.invalidState,
                    "libvirt's storage pool '\(ImagePool.name)' does not point at \(directory); remove it ('virsh pool-destroy \(ImagePool.name); virsh pool-undefine \(ImagePool.name)') or set PARTCTL_ROOT to match it.")
            }
        } else {
            pool = try connection.defineStoragePool(xml: poolXML())
            do {
                try pool.build()
            } catch {
                try? pool.undefine()
                throw error
            }
        }
        if try !pool.isActive() {
            // A directory removed behind libvirt's back is made again before starting.
            if (try? pool.start()) == nil {
                try pool.build()
                try pool.start()
            }
        }
        if try !pool.autostart() { try pool.setAutostart(true) }
        return pool
    }

    /// The store's commit of a disk image: its staged `disk.qcow2` becomes the manifest's base volume.
    @discardableResult
    public func addBase(from stagingDisk: String, for manifest: ImageManifest, local: Bool = true) throws(PartitionError) -> String {
        guard let disk = manifest.disk else {
            throw PartitionError(.internal, "The image '\(manifest.name)' has no disk to add to the pool.")
        }
        return try addBase(from: stagingDisk, volume: disk.volume, local: local)
    }

    /// The store's remove of a disk image: its base volume goes (the store has refused it while in use).
    public func removeBase(of manifest: ImageManifest) throws(PartitionError) {
        guard let disk = manifest.disk else { return }
        try removeBase(volume: disk.volume)
    }

    /// The pool if it is defined and started; nil otherwise (nothing is made).
    public func existingPool() throws(PartitionError) -> LibvirtStoragePool? {
        guard let pool = try connection.lookupStoragePool(name: ImagePool.name), try pool.isActive() else { return nil }
        return pool
    }
}

extension ImageBaseVolumes {
    /// The `partctl` pool behind the store: a disk image's staged disk becomes its base volume at
    /// commit (moved on this machine, uploaded to a remote one), and goes with the image.
    static let pool = ImageBaseVolumes(
        upload: { staging, manifest, manager throws(PartitionError) in
            let pool = ImagePool(connection: try manager.libvirt(), stateRoot: manager.configuration.stateRoot)
            try pool.addBase(from: staging.disk, for: manifest, local: manager.configuration.isLocal)
        },
        remove: { manifest, manager throws(PartitionError) in
            let pool = ImagePool(connection: try manager.libvirt(), stateRoot: manager.configuration.stateRoot)
            try pool.removeBase(of: manifest)
        })
}
