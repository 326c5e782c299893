import Foundation
import PartctlTestSupport
import PartitionImages
import Testing

/// The Debian image's disk boots by itself: SeaBIOS (and OVMF) -> GRUB -> the kernel -> systemd, the
/// serial getty, and partagent answering, which is what `partctl activate` waits for. Until LPARs
/// take `image:` (their overlay on the image's base volume), the LPAR boots a copy of the disk named
/// in `disks:`.
@Suite(.serialized) struct DebianImageBootTests {
    static let marker = "partagent: serving protocol"

    @Test(arguments: ["bios", "uefi"]) func diskBootsToSystemdAndTheAgentAnswers(firmware: String) throws {
        let (manifest, _, _) = try SharedDebianImage.ensure()
        let name = "ptest-debian-\(firmware)"
        let copy = "/var/lib/libvirt/images/\(name).qcow2"
        let directory = NSTemporaryDirectory() + "\(name)-\(getpid())"
        let cleanup = Cleanup()
        cleanup.add { removeTestPartition(name) }
        cleanup.add { unlink(copy); try? FileManager.default.removeItem(atPath: directory) }
        removeTestPartition(name)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let copied = try TestProcess.run("/bin/cp", ["--sparse=always", SharedDebianImage.disk(manifest), copy])
        try #require(copied.status == 0, "\(copied)")
        let profile = directory + "/\(name).yaml"
        try """
        kind: lpar
        extends: lpar-base
        description: the debian-12 image's disk, copied (test)
        memory: {min: 512MiB, desired: 1GiB, max: 1GiB}
        processors: {min: 1, desired: 2, max: 2}
        boot:
          firmware: \(firmware)
          order: [disk]
        disks:
          - file: \(copy)
            format: qcow2
            bus: virtio
        agent: true
        """.write(toFile: profile, atomically: true, encoding: .utf8)

        let define = try TestProcess.run(BuiltProducts.partctl, ["define", name, "--profile", profile])
        try #require(define.status == 0, "\(define)")
        let started = monotonicSeconds()
        let activate = try TestProcess.run(BuiltProducts.partctl, ["activate", name], timeout: 300)
        let seconds = monotonicSeconds() - started
        let console = { (try? TestProcess.run(BuiltProducts.partctl, ["console", name, "--log"]).stdout) ?? "" }
        try #require(activate.status == 0, "activate: \(activate)\nconsole: \(console().suffix(3000))")
        print("debian-12 (\(firmware)): activate returned with the agent answering after \(String(format: "%.1f", seconds)) s")
        #expect(console().contains(Self.marker), "no agent line on the console: \(console().suffix(2000))")
        // systemd's serial getty on ttyS0 (the generator's, from console=ttyS0).
        let getty = waitUntil(timeout: 240, interval: 1) { console().contains("login:") }
        #expect(getty, "no login prompt on the serial console: \(console().suffix(2000))")
        // The agent answers a new connection too: with a nested WPAR defined, query asks it for its
        // version and state ("0.2.0 ok").
        let nested = try TestProcess.run(BuiltProducts.partctl, ["define", "\(name)/w1", "--profile", "wpar-app"])
        #expect(nested.status == 0, "\(nested)")
        let agent = try TestProcess.run(BuiltProducts.partctl, ["query", name, "-F", "agent"])
        #expect(agent.status == 0 && agent.stdout.contains("ok"), "\(agent)")
    }
}
