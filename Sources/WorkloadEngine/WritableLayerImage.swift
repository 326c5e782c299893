import Glibc
import PartitionModel
import SystemKit

/// A system WPAR's writable layer with a size limit (`disk: {max}`): a sparse ext4 image of its
/// own, attached to a loop device and mounted on the host, holding the overlay's upper and work
/// directories. The file system enforces the limit: a write beyond it fails with ENOSPC inside
/// the WPAR, and the host's file system never gives the layer more than the image's size.
///
/// Chosen over project quotas because those need the `project` feature and the `prjquota` mount
/// option on the host's file system, which a Debian host rarely has (tune2fs can only switch it
/// on unmounted); loop devices, ext4 and mkfs.ext4 (e2fsprogs, priority required) are always there.
///
/// `<wpars>/<name>/layer.img` (0600) is mounted on `<wpars>/<name>/layer` with nosuid and nodev:
/// even a host user who reached it could not use a setuid file or a device node from it. The loop
/// device clears itself (LO_FLAGS_AUTOCLEAR) once the file system is unmounted and released, so a
/// lazy unmount when the WPAR is gone is all the cleanup there is.
struct WritableLayerImage {
    let image: String
    let mountPoint: String
    let size: UInt64

    init(definitionDirectory: String, size: UInt64) {
        image = definitionDirectory + "/layer.img"
        mountPoint = Self.mountPoint(in: definitionDirectory)
        self.size = size
    }

    static func mountPoint(in definitionDirectory: String) -> String { definitionDirectory + "/layer" }

    /// Below this ext4's own structures take most of the layer.
    static let minimumSize: UInt64 = 8 << 20

    /// A size limit needs a writable layer that partctl places: a system WPAR's overlay root with
    /// the default upper directory.
    static func check(_ spec: WorkloadSpec) throws(PartitionError) {
        guard let size = spec.diskLimit else { return }
        guard spec.kind == .system, case .overlay(_, nil) = spec.root else {
            throw PartitionError(.invalidArgument,
                "A disk limit applies to the private writable layer of a system WPAR with an overlay root; this WPAR has none.")
        }
        guard size >= minimumSize else {
            throw PartitionError(.outOfRange, "The disk limit \(size) bytes is below 8 MiB, too small for a file system.")
        }
    }

    /// Creates the image on first use and mounts it, so that the upper and work directories below
    /// `mountPoint` are on it. A mount left from before is replaced.
    func attach() throws(PartitionError) {
        try StateDirectory.ensure(mountPoint, mode: 0o700)
        Self.detach(mountPoint: mountPoint)
        try createIfMissing()
        let image = SystemCall.retryingInterrupts { open(self.image, O_RDWR | O_CLOEXEC | O_NOFOLLOW) }
        guard image >= 0 else { throw SystemCall.failure("open the writable layer image \(self.image)") }
        defer { close(image) }
        var status = stat()
        guard fstat(image, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else {
            throw PartitionError(.invalidState, "\(self.image) is not a regular file.")
        }
        guard UInt64(status.st_size) == size else {
            throw PartitionError(.unsupported,
                "The writable layer image holds \(status.st_size) bytes but the disk limit is now \(size); a layer cannot be resized yet. Remove the WPAR and define it again, or keep the old limit.")
        }
        let (device, loop) = try Self.attachLoopDevice(image, name: self.image)
        defer { close(loop) }  // the mount holds the device from here; AUTOCLEAR detaches it after the unmount
        guard mount(device, mountPoint, "ext4", UInt(MS_NOSUID | MS_NODEV | MS_NOATIME), nil) == 0 else {
            throw SystemCall.failure("mount the writable layer image \(self.image) on \(mountPoint)")
        }
        chmod(mountPoint, 0o700)  // the file system's root; the WPAR's own root is `upper` below it
    }

    /// Unmounts the layer lazily: the file system goes, and its loop device with it, once the
    /// WPAR's mount namespace no longer holds it. Nothing mounted is fine.
    static func detach(mountPoint: String) {
        _ = umount2(mountPoint, Int32(MNT_DETACH) | Int32(UMOUNT_NOFOLLOW))
    }

    /// A sparse file of `size` bytes with an empty ext4 file system on it.
    private func createIfMissing() throws(PartitionError) {
        let fd = SystemCall.retryingInterrupts { open(image, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600) }
        if fd < 0 {
            if errno == EEXIST { return }
            throw SystemCall.failure("create the writable layer image \(image)")
        }
        var made = false
        defer { if !made { unlink(image) } }
        let sized = ftruncate(fd, off_t(size)) == 0
        let cause = errno
        close(fd)
        guard sized else { throw SystemCall.failure("size the writable layer image \(image)", errno: cause) }
        // -m 0: no blocks reserved for root, the whole limit is the WPAR's; no discard on a fresh sparse file.
        try HostProgram([Self.mkfs(), "-q", "-F", "-m", "0", "-E", "nodiscard,root_owner=0:0", image])
            .check("make a file system on the writable layer image \(image)")
        made = true
    }

    private static func mkfs() throws(PartitionError) -> String {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] where access(directory + "/mkfs.ext4", X_OK) == 0 {
            return directory + "/mkfs.ext4"
        }
        throw PartitionError(.unsupported, "A disk limit needs mkfs.ext4 (Debian package e2fsprogs), which is not installed.")
    }

    // <linux/loop.h>
    private static let loopControlGetFree: UInt = 0x4C82
    private static let loopConfigure: UInt = 0x4C0A
    private static let autoclear: UInt32 = 4

    /// Binds `image` to a free loop device (LOOP_CONFIGURE, Linux 5.8+) that detaches itself
    /// once nothing holds it; returns its path and an open descriptor of it.
    private static func attachLoopDevice(_ image: Int32, name: String) throws(PartitionError) -> (String, Int32) {
        let control = SystemCall.retryingInterrupts { open("/dev/loop-control", O_RDWR | O_CLOEXEC) }
        guard control >= 0 else { throw SystemCall.failure("open /dev/loop-control for the writable layer") }
        defer { close(control) }
        // struct loop_config { u32 fd; u32 block_size; struct loop_info64 info; u64 reserved[8]; }
        var config = [UInt8](repeating: 0, count: 304)
        withUnsafeBytes(of: UInt32(bitPattern: image).littleEndian) { config.replaceSubrange(0..<4, with: $0) }
        withUnsafeBytes(of: autoclear.littleEndian) { config.replaceSubrange(60..<64, with: $0) }  // info.lo_flags
        let file = Array(name.utf8.suffix(63))
        config.replaceSubrange(64..<(64 + file.count), with: file)  // info.lo_file_name, for losetup -l
        for _ in 0..<16 {
            let number = ioctl(control, loopControlGetFree)
            guard number >= 0 else { throw SystemCall.failure("find a free loop device for the writable layer") }
            let device = "/dev/loop\(number)"
            let loop = SystemCall.retryingInterrupts { open(device, O_RDWR | O_CLOEXEC) }
            guard loop >= 0 else { throw SystemCall.failure("open \(device) for the writable layer") }
            let configured = config.withUnsafeMutableBytes { ioctl(loop, loopConfigure, $0.baseAddress!) }
            if configured == 0 { return (device, loop) }
            let cause = errno
            close(loop)
            guard cause == EBUSY else { throw SystemCall.failure("attach the writable layer image to \(device)", errno: cause) }
            // Another process took that device between the two calls: ask again.
        }
        throw PartitionError(.busy, "Could not attach the writable layer image to a loop device: every free one was taken first.")
    }
}
