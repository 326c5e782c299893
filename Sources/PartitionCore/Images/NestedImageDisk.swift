import LibvirtKit
import PartitionImages
import PartitionModel
import SystemKit
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// How an image's root file system reaches WPARs nested in an LPAR (issue 10, part 7): the host
/// makes a read-only ext4 file system of the tree once per image digest, kept as a raw file in the
/// `partctl` pool's directory (which QEMU may read; the store's directories are root's alone),
/// attaches it to the LPAR as a read-only virtio disk whose serial is `pimg-<digest 12 hex>`, and
/// partagent mounts it at `/var/lib/partctl/rootfs/pimg-<digest 12 hex>` in the guest, the lower
/// layer of the nested WPAR's overlay root (its writable layer stays in the guest). The disk is
/// detached once no nested WPAR of the LPAR uses the image.
struct NestedImageDisk: Sendable, Hashable {
    static let serialPrefix = "pimg-"
    /// Where partagent mounts image disks in the guest (partagent's ImageDisks).
    static let guestDirectory = "/var/lib/partctl/rootfs"

    let image: String
    let digest12: String
    /// The ext4 file on the host.
    let file: String

    init(image: ImageManifest, stateRoot: String) {
        self.image = image.name
        let hex = image.digest.hasPrefix("sha256:") ? image.digest.dropFirst(7) : Substring(image.digest)
        digest12 = String(hex.prefix(12))
        file = "\(stateRoot)/pool/rootfs-\(image.name)-\(digest12).img"
    }

    var serial: String { Self.serialPrefix + digest12 }
    /// The lower layer a nested WPAR's spec names.
    var guestPath: String { "\(Self.guestDirectory)/\(serial)" }

    /// The image disk of a nested WPAR's profile (`image:`), made when missing; nil without `image:`.
    static func of(_ wpar: WparProfile, stateRoot: String) throws(PartitionError) -> NestedImageDisk? {
        guard let name = wpar.image else { return nil }
        let store = ImageStore(stateRoot: stateRoot)
        let manifest = try store.image(ImageName(validating: name))
        guard manifest.hasRootfs else {
            throw PartitionError(.invalidArgument, "The image '\(name)' has no root file system for a WPAR (it is a disk image only).")
        }
        let disk = NestedImageDisk(image: manifest, stateRoot: stateRoot)
        try disk.prepare(tree: store.rootfs(manifest))
        return disk
    }

    // MARK: The file system image

    /// Makes the ext4 image of `tree` unless it exists: written beside its final name and renamed
    /// into place, so that a killed command leaves no half-made image under that name.
    func prepare(tree: String) throws(PartitionError) {
        if access(file, F_OK) == 0 { return }
        let directory = String(file[..<file.lastIndex(of: "/")!])
        if mkdir(directory, 0o711) != 0 && errno != EEXIST { throw POSIX.failure("create \(directory)") }
        let (bytes, entries) = Self.measure(tree)
        // Room for the tree, ext4's own structures and an inode per entry, never less than 16 MiB.
        let size = max(16 << 20, bytes + bytes / 4 + UInt64(entries) * 512 + (8 << 20))
        let partial = "\(directory)/.\(serial).\(getpid()).partial"
        unlink(partial)
        defer { unlink(partial) }
        try HostProgram([Self.mkfs(), "-q", "-F", "-t", "ext4", "-O", "^has_journal", "-m", "0",
                                          "-N", String(entries + entries / 4 + 1024), "-L", String(serial.prefix(16)),
                                          "-E", "nodiscard,root_owner=0:0", "-d", tree, partial, "\(size / 1024)k"])
            .check("make the file system image of '\(image)' for nested WPARs")
        // Root's alone, as the image's base volumes: libvirt hands it to QEMU's user while attached.
        guard chmod(partial, 0o400) == 0, rename(partial, file) == 0 else {
            throw POSIX.failure("put the file system image of '\(image)' in place at \(file)")
        }
    }

    /// Deletes the file system image (with `image remove`: no definition names the image any more).
    func removeFile() {
        unlink(file)
    }

    /// Bytes (rounded up to 4 KiB blocks) and entries of a tree, without following symlinks.
    static func measure(_ tree: String) -> (UInt64, Int) {
        var bytes: UInt64 = 0
        var entries = 0
        var pending = [tree]
        while let directory = pending.popLast() {
            guard let handle = opendir(directory) else { continue }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                let path = "\(directory)/\(name)"
                var status = stat()
                guard lstat(path, &status) == 0 else { continue }
                entries += 1
                bytes += (UInt64(max(0, status.st_size)) + 4095) / 4096 * 4096
                if (status.st_mode & S_IFMT) == S_IFDIR { pending.append(path) }
            }
            closedir(handle)
        }
        return (bytes, entries)
    }

    // MARK: The LPAR's disk

    /// The disk's XML; `target` is a free virtio name (vdb, vdc, ...).
    func diskXML(target: String) -> String {
        "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='\(file)'/>"
            + "<target dev='\(target)' bus='virtio'/><readonly/><serial>\(serial)</serial></disk>"
    }

    /// Attaches the disk to the LPAR where it is missing: to its definition, and while it runs to
    /// the running guest as well (hot-plugged).
    func attach(to domain: LibvirtDomain) throws(PartitionError) {
        let running = try domain.isActive()
        let configXML = try domain.xmlDesc(.inactive)
        let liveXML = running ? try domain.xmlDesc() : configXML
        let inConfig = Self.serials(in: configXML).contains(serial)
        let inLive = Self.serials(in: liveXML).contains(serial)
        if inConfig && (inLive || !running) { return }
        let used = Set(Self.targets(in: configXML)).union(Self.targets(in: liveXML))
        guard let target = (1..<26).lazy.map({ "vd" + String(UnicodeScalar(UInt8(97 + $0))) }).first(where: { !used.contains($0) }) else {
            throw PartitionError(.unsupported, "The LPAR '\(domain.name)' has no free virtio disk name left for the image '\(image)'.")
        }
        try domain.attachDevice(diskXML(target: target), live: running && !inLive, config: !inConfig)
    }

    /// Detaches every image disk of the LPAR whose serial is not in `keeping`, from its definition
    /// and from the running guest.
    static func detachUnused(from domain: LibvirtDomain, keeping: Set<String>) throws(PartitionError) {
        let running = try domain.isActive()
        for (live, xml) in [(false, try domain.xmlDesc(.inactive))] + (running ? [(true, try domain.xmlDesc())] : []) {
            for disk in diskElements(in: xml) where !keeping.contains(disk.serial) {
                try domain.detachDevice(disk.xml, live: live, config: !live)
            }
        }
    }

    // MARK: Reading the domain XML

    static func serials(in xml: String) -> [String] { diskElements(in: xml).map(\.serial) }

    /// Target names of every disk, for picking a free one.
    static func targets(in xml: String) -> [String] {
        xml.split(separator: "<target ").compactMap { part -> String? in
            guard let start = part.range(of: "dev='")?.upperBound ?? part.range(of: "dev=\"")?.upperBound else { return nil }
            return String(part[start...].prefix { $0 != "'" && $0 != "\"" })
        }
    }

    /// partctl's image disks in a domain XML: each `<disk>` element whose serial starts with pimg-.
    static func diskElements(in xml: String) -> [(serial: String, xml: String)] {
        var result: [(String, String)] = []
        var rest = Substring(xml)
        while let start = rest.range(of: "<disk "), let end = rest[start.lowerBound...].range(of: "</disk>") {
            let element = String(rest[start.lowerBound..<end.upperBound])
            rest = rest[end.upperBound...]
            guard let open = element.range(of: "<serial>"), let close = element.range(of: "</serial>"),
                  open.upperBound <= close.lowerBound else { continue }
            let serial = String(element[open.upperBound..<close.lowerBound])
            if serial.hasPrefix(serialPrefix) { result.append((serial, element)) }
        }
        return result
    }

    // MARK: mkfs

    private static func mkfs() throws(PartitionError) -> String {
        for directory in ["/usr/sbin", "/sbin"] where access(directory + "/mkfs.ext4", X_OK) == 0 {
            return directory + "/mkfs.ext4"
        }
        throw PartitionError(.unsupported, "Images for nested WPARs need mkfs.ext4 (Debian package e2fsprogs), which is not installed.")
    }
}
