import Glibc
import PartitionModel
import WorkloadEngine

/// Read-only disks the host attaches to carry an image's root file system to nested WPARs: a
/// virtio disk whose serial is `pimg-<12 hex of the image's digest>`, holding an ext4 file system
/// that partctl made from the image's tree. A spec whose overlay lower layer is
/// `/var/lib/partctl/rootfs/pimg-<12 hex>` gets that disk mounted there (read-only) before the
/// engine checks it; once no definition names it, it is unmounted again, so that the host can
/// detach the disk. Nothing new on the wire: a host that sends no such path never meets this.
enum ImageDisks {
    static let directory = "/var/lib/partctl/rootfs"
    static let serialPrefix = "pimg-"
    /// A disk hot-plugged just before the request may take a moment to show up in the guest.
    static let appearTimeout = 20.0

    /// The serial a lower layer names, when it is an image disk's mount point.
    static func serial(ofLower path: String) -> String? {
        guard path.hasPrefix(directory + "/" + serialPrefix) else { return nil }
        let serial = String(path.dropFirst(directory.count + 1))
        let hex = serial.dropFirst(serialPrefix.count)
        guard hex.count == 12, hex.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else { return nil }
        return serial
    }

    static func serials(of spec: WorkloadSpec) -> [String] {
        guard case .overlay(let lower, _) = spec.root else { return [] }
        return lower.compactMap(serial(ofLower:))
    }

    /// Mounts every image disk `spec` names that is not mounted yet.
    static func mount(for spec: WorkloadSpec) throws(PartitionError) {
        for serial in serials(of: spec) where !isMounted(serial) {
            let device = try waitForDevice(serial: serial)
            let target = "\(directory)/\(serial)"
            // A guest other than partctl's own (a Debian LPAR with the .deb) may lack the parents.
            for parent in ["/var/lib/partctl", directory] where mkdir(parent, 0o711) != 0 && errno != EEXIST {
                throw failure("create \(parent)")
            }
            if mkdir(target, 0o755) != 0 && errno != EEXIST {
                throw failure("create \(target)")
            }
            // Read-only, no device nodes; the file system is partctl's own work, made on the host.
            if Glibc.mount(device, target, "ext4", UInt(MS_RDONLY | MS_NODEV), "") != 0 {
                throw failure("mount the image disk \(serial) (\(device)) on \(target)")
            }
        }
    }

    /// Unmounts the image disks that no WPAR defined in this guest names any more.
    static func unmountUnused(engine: WorkloadEngine) {
        var used: Set<String> = []
        for name in engine.definedNames() {
            if let spec = try? engine.definition(of: name) { used.formUnion(serials(of: spec)) }
        }
        for entry in entries(of: directory) where entry.hasPrefix(serialPrefix) && !used.contains(entry) {
            let target = "\(directory)/\(entry)"
            if isMounted(entry) && umount2(target, 0) != 0 { continue }  // still busy: kept, tried again next time
            rmdir(target)
        }
    }

    static func isMounted(_ serial: String) -> Bool {
        var mountPoint = stat()
        var parent = stat()
        guard lstat("\(directory)/\(serial)", &mountPoint) == 0, lstat(directory, &parent) == 0 else { return false }
        return mountPoint.st_dev != parent.st_dev
    }

    /// /dev/<name> of the block device whose serial is `serial`.
    static func waitForDevice(serial: String) throws(PartitionError) -> String {
        var start = timespec()
        clock_gettime(CLOCK_MONOTONIC, &start)
        while true {
            for name in entries(of: "/sys/block") where name.hasPrefix("vd") {
                guard readLine("/sys/block/\(name)/serial") == serial else { continue }
                var status = stat()
                let device = "/dev/\(name)"
                guard lstat(device, &status) == 0, (status.st_mode & S_IFMT) == S_IFBLK else { continue }
                return device
            }
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            if Double(now.tv_sec - start.tv_sec) > appearTimeout {
                throw PartitionError(.notFound, "The image disk \(serial) did not appear in the guest within \(Int(appearTimeout)) seconds.")
            }
            usleep(100_000)
        }
    }

    private static func readLine(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 128)
        let count = read(fd, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: "\n ")
    }

    private static func entries(of path: String) -> [String] {
        guard let handle = opendir(path) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    private static func failure(_ step: String) -> PartitionError {
        PartitionError(.system, "Could not \(step): \(String(cString: strerror(errno))).")
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        return String(text)
    }
}
