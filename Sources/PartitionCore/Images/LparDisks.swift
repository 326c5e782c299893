import LibvirtKit
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// What an LPAR takes from the `partctl` pool: the overlay of its image (when its profile names
/// one) and its first-boot seed (when it has an image or first-boot keys). Made at define, given
/// back at remove, and removed again when a define fails half way.
struct LparDisks {
    let pool: ImagePool
    let runtimeRoot: String
    /// The base volume of the profile's image, or nil when it names none (the store resolves it).
    let baseVolume: (LparProfile) throws(PartitionError) -> String?

    struct Made: Equatable {
        var systemDisk: LparSystemDisk?
        var seedPath: String?
    }

    static func needsSeed(_ profile: LparProfile, hasImage: Bool) -> Bool { hasImage || profile.hasFirstBootValues }

    /// Makes the overlay and the seed of a new LPAR; on failure nothing of them is left.
    func create(for lpar: PartitionName, profile: LparProfile, uuid: String) throws(PartitionError) -> Made {
        let base = try baseVolume(profile)
        // What an earlier define of this name left (it died before its domain existed) goes first.
        try pool.removeVolumes(of: lpar)
        guard LparDisks.needsSeed(profile, hasImage: base != nil) else { return Made() }
        do throws(PartitionError) {
            var made = Made()
            if let base { made.systemDisk = try pool.createOverlay(for: lpar, base: base) }
            made.seedPath = try writeSeed(for: lpar, profile: profile, uuid: uuid)
            return made
        } catch {
            try? pool.removeVolumes(of: lpar)
            throw error
        }
    }

    /// For a redefinition: the overlay as it is, and the seed made again when the first-boot
    /// values changed (or it is missing), dropped when nothing asks for one any more.
    func current(for lpar: PartitionName, old: LparProfile?, new: LparProfile, uuid: String) throws(PartitionError) -> Made {
        let systemDisk = try pool.systemDisk(of: lpar)
        // A restored LPAR's disk stands alone: its image is history, not a base it needs.
        var newBase: String?
        if systemDisk?.isStandalone != true { newBase = try baseVolume(new) }
        if newBase != nil, systemDisk == nil || systemDisk.map({ !($0.basePath ?? "").hasSuffix("/" + newBase!) }) == true {
            throw PartitionError(.invalidArgument,
                "image: an LPAR's image is chosen when it is defined; remove it and define it again to boot another one.")
        }
        let standalone = systemDisk?.isStandalone == true
        var made = Made(systemDisk: newBase == nil && !standalone ? nil : systemDisk)
        if LparDisks.needsSeed(new, hasImage: newBase != nil || standalone) {
            let unchanged = old.map { LparDisks.sameFirstBoot($0, new) } ?? false
            let exists = try pool.existingPool()?.lookupVolume(name: ImagePool.seedName(lpar)) != nil
            made.seedPath = unchanged && exists ? pool.seedPath(lpar) : try writeSeed(for: lpar, profile: new, uuid: uuid)
        }
        return made
    }

    static func sameFirstBoot(_ a: LparProfile, _ b: LparProfile) -> Bool {
        a.hostname == b.hostname && a.sshAuthorizedKeys == b.sshAuthorizedKeys && a.userData == b.userData
    }

    func writeSeed(for lpar: PartitionName, profile: LparProfile, uuid: String) throws(PartitionError) -> String {
        let seed = try FirstBootSeed(profile: profile, lpar: lpar, uuid: uuid)
        let (iso, directory) = try seed.makeISO(runtimeRoot: runtimeRoot)
        defer { FirstBootSeed.removeDirectory(directory) }
        return try pool.putSeed(for: lpar, isoPath: iso)
    }

    /// Removes the overlays and seeds that a define killed half way left behind: volumes of LPARs
    /// without a domain whose lock no command holds (a define in progress holds its lock).
    func sweepLeftovers(connection: LibvirtConnection, lockPath: (PartitionName) -> String) {
        guard let names = try? pool.lparsWithVolumes() else { return }
        // Only a domain known to be missing counts: an error (libvirtd busy) is no proof.
        func missing(_ text: String) -> Bool {
            do { return try connection.lookupDomain(name: text) == nil } catch { return false }
        }
        for text in names {
            guard let name = try? PartitionName(text), missing(text),
                  let lock = try? PartitionLock.acquire(path: lockPath(name), wait: false, timeout: nil) else { continue }
            // Looked at again under its lock: a define may have finished in between.
            if missing(text) { try? pool.removeVolumes(of: name) }
            lock.removeFile()
            withExtendedLifetime(lock) {}
        }
    }

    /// Gives back the LPAR's overlay and seed; ones already gone are fine.
    func remove(_ lpar: PartitionName) throws(PartitionError) {
        try pool.removeVolumes(of: lpar)
    }

    /// A new domain's UUID, made here so that the seed's instance-id can name it before the domain exists.
    static func newUUID() throws(PartitionError) -> String {
        guard let text = FileIO.readText("/proc/sys/kernel/random/uuid") else {
            throw PartitionError(.system, "Could not read a new UUID from /proc/sys/kernel/random/uuid.")
        }
        return String(text.prefix(while: { !$0.isNewline }))
    }
}
