import Foundation
import PartctlTestSupport
import PartitionCore
import PartitionImages
import PartitionModel
import Testing

/// `image build debian-12` for real: mmdebstrap from the host's mirror, the tree for WPARs and the
/// GPT disk with GRUB, the cache, and a build killed with SIGKILL leaving nothing behind.
@Suite(.serialized) struct DebianImageBuildTests {
    @Test func buildMakesTheTreeAndTheDiskAndIsCached() throws {
        let (manifest, built, progress) = try SharedDebianImage.ensure()
        if built {
            for phase in ["packages", "disk", "boot loader"] {
                #expect(progress.contains { $0.hasPrefix(phase) }, "no \(phase) phase in \(progress)")
            }
        }
        #expect(manifest.kinds == [.disk, .rootfs])
        #expect(manifest.source == "mmdebstrap bookworm")
        #expect(ImageDigest.isValid(manifest.digest) && manifest.inputs.map(ImageDigest.isValid) == true, "\(manifest)")
        #expect(manifest.disk?.capacity == 4 << 30 && manifest.disk?.firmware == ["bios", "uefi"], "\(manifest)")
        #expect(manifest.disk?.volume == ImageDisk.volumeName(image: "debian-12", digest: manifest.digest))

        // The tree: systemd as init, the agent's package, DHCP, cloud-init's NoCloud only, no identity.
        let rootfs = SharedDebianImage.store.rootfs(manifest)
        let files = FileManager.default
        #expect(try files.destinationOfSymbolicLink(atPath: rootfs + "/sbin/init").hasSuffix("systemd"))
        for path in ["/usr/sbin/partagent", "/usr/libexec/partctl/partctl-supervisor", "/usr/lib/systemd/system/partagent.service",
                     "/usr/lib/udev/rules.d/70-partagent.rules", "/etc/systemd/network/80-partctl-dhcp.network",
                     "/usr/sbin/sshd", "/usr/bin/cloud-init", "/usr/bin/tini-static", "/boot/grub/grub.cfg"] {
            #expect(files.fileExists(atPath: rootfs + path), "no \(path) in \(rootfs)")
        }
        let cloud = try String(contentsOfFile: rootfs + "/etc/cloud/cloud.cfg.d/90-partctl.cfg", encoding: .utf8)
        #expect(cloud.contains("datasource_list: [NoCloud, None]"))
        #expect(try files.destinationOfSymbolicLink(atPath: rootfs + "/etc/systemd/system/systemd-networkd-wait-online.service") == "/dev/null")
        let keys = try files.contentsOfDirectory(atPath: rootfs + "/etc/ssh").filter { $0.hasPrefix("ssh_host_") }
        #expect(keys.isEmpty, "the image carries SSH host keys: \(keys)")
        let grub = try String(contentsOfFile: rootfs + "/boot/grub/grub.cfg", encoding: .utf8)
        #expect(grub.contains("root=UUID=") && grub.contains("console=ttyS0"), "\(grub)")
        // The tree is also system WPARs' root, which partctl mounts: its fstab names no file system
        // (the disk's own names the root by UUID), or systemd-remount-fs fails in a WPAR.
        let fstab = try String(contentsOfFile: rootfs + "/etc/fstab", encoding: .utf8)
        #expect(!fstab.split(separator: "\n").contains { !$0.hasPrefix("#") && !$0.isEmpty }, "\(fstab)")

        // The disk: qcow2, 4 GiB virtual, a GPT with the BIOS boot, EFI and root partitions.
        let disk = SharedDebianImage.disk(manifest)
        let info = try TestProcess.run("/usr/bin/qemu-img", ["info", "--output=json", disk])
        #expect(info.stdout.contains("\"format\": \"qcow2\"") && info.stdout.contains("\"virtual-size\": 4294967296"), "\(info)")
        let raw = NSTemporaryDirectory() + "ptest-debian-gpt-\(getpid()).raw"
        defer { unlink(raw) }
        // The first MiB holds the MBR (GRUB's boot.img) and the GPT header and entries.
        let head = try TestProcess.run("/usr/bin/qemu-img", ["dd", "-f", "qcow2", "-O", "raw", "bs=1M", "count=1", "if=\(disk)", "of=\(raw)"])
        try #require(head.status == 0, "\(head)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: raw))
        #expect(bytes[510] == 0x55 && bytes[511] == 0xaa && String(decoding: bytes[512..<520], as: UTF8.self) == "EFI PART")
        #expect(bytes[0x5c] == 0x00 && bytes[0x5d] == 0x08, "boot.img does not point at sector 2048")
        // GPT entries from LBA 2, 128 bytes each: type GUID (first three fields little-endian), first LBA.
        func guid(_ b: Data.SubSequence) -> String {
            let b = Array(b)
            let hex = { (r: [UInt8]) in r.map { String(format: "%02X", $0) }.joined() }
            return [hex(b[0..<4].reversed()), hex(b[4..<6].reversed()), hex(b[6..<8].reversed()), hex(Array(b[8..<10])), hex(Array(b[10..<16]))]
                .joined(separator: "-")
        }
        let entries = (0..<3).map { index -> (String, UInt64) in
            let start = 1024 + index * 128
            let lba = bytes[(start + 32)..<(start + 40)].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return (guid(bytes[start..<(start + 16)]), lba)
        }
        #expect(entries[0] == ("21686148-6449-6E6F-744E-656564454649", 2048), "BIOS boot partition: \(entries)")
        #expect(entries[1] == ("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", 4096), "EFI system partition: \(entries)")
        #expect(entries[2] == ("4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709", 133_120), "root partition: \(entries)")

        // A second build with nothing changed: the inputs are computed in well under 2 s and equal.
        let started = monotonicSeconds()
        let inputs = try SharedDebianImage.builder.inputs(recipe: "debian-12")
        let seconds = monotonicSeconds() - started
        #expect(inputs == manifest.inputs, "the inputs changed between two builds")
        #expect(seconds < 2, "computing the inputs took \(seconds) s")
        // Through the command line: the committed image is up to date, nothing is built.
        let again = try TestProcess.run(BuiltProducts.partctl, ["image", "build", "debian-12"],
                                        environment: SharedDebianImage.environment, timeout: 60)
        #expect(again.status == 0, "\(again)")
        let list = try TestProcess.run(BuiltProducts.partctl, ["image", "list", "-F", "name,digest"], environment: SharedDebianImage.environment)
        #expect(list.stdout.contains("debian-12"), "\(list)")
    }
}
