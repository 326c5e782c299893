import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// The profiles in profiles/ parse, resolve and say what their comments say.
@Suite struct ProfileShippedTests {
    let store = ProfileStore(searchPath: [shippedProfiles])

    @Test(arguments: ["lpar-minimal", "lpar-memtest", "lpar-disk", "lpar-debian", "wpar-system", "wpar-app", "wpar-app-web", "wpar-debian"])
    func resolves(_ name: String) throws {
        let resolved = try store.resolve(name)
        #expect(resolved.name == name)
        #expect(resolved.file == "\(shippedProfiles)/\(name).yaml")
        #expect(!resolved.isAbstract)
        #expect(resolved.description?.isEmpty == false)
        #expect((resolved.lpar != nil) == (resolved.kind == .lpar))
        #expect((resolved.wpar != nil) == (resolved.kind == .wpar))
        try resolved.lpar?.validate()
        try resolved.wpar?.validate()
    }

    @Test func baseIsAbstract() throws {
        let base = try store.resolve("lpar-base", allowAbstract: true)
        #expect(base.isAbstract && base.lpar == nil && base.kind == .lpar)
        #expect(base.origin(of: "weight")?.value == "100")
        #expect(throws: PartitionError.self) { try store.resolve("lpar-base") }
    }

    @Test func minimalBootsTheGuestImage() throws {
        let resolved = try store.resolve("lpar-minimal")
        let lpar = try #require(resolved.lpar)
        #expect(resolved.chain == ["lpar-minimal", "lpar-base"])
        #expect(lpar.memory == ResourceRange(min: .mebibytes(128), desired: .mebibytes(256), max: .mebibytes(512)))
        #expect(lpar.processors == ResourceRange(min: 1, desired: 1, max: 2))
        #expect(lpar.boot.kernel == "/var/lib/partctl/images/partctl-guest/vmlinux")
        #expect(lpar.boot.initrd == "/var/lib/partctl/images/partctl-guest/initrd.img")
        #expect(lpar.boot.cmdline == "console=ttyS0,115200 quiet panic=-1 cryptomgr.notests initcall_blacklist=crypto_kdf108_init")
        #expect(lpar.boot.firmware == .bios)
        #expect(lpar.agent && !lpar.autostart && lpar.accel == .auto && lpar.weight == 100 && lpar.cap == nil)
        #expect(lpar.disks.isEmpty && lpar.network.isEmpty)
    }

    @Test func memtestBootsFromBoot() throws {
        let lpar = try #require(try store.resolve("lpar-memtest").lpar)
        #expect(lpar.boot.kernel == "/boot/memtest86+x64.bin")
        #expect(lpar.boot.cmdline == "console=ttyS0,115200")
        #expect(lpar.processors.desired == 1 && lpar.memory.min == .mebibytes(256))
        #expect(!lpar.agent)
    }

    @Test func diskBootsFromDiskThenCdrom() throws {
        let lpar = try #require(try store.resolve("lpar-disk").lpar)
        #expect(lpar.boot.kernel == nil && lpar.boot.order == [.disk, .cdrom])
        #expect(lpar.disks == [
            DiskSpec(file: "/var/lib/libvirt/images/partctl-disk.qcow2", device: .disk, format: .qcow2, bus: .virtio, readonly: false),
            DiskSpec(file: "/var/lib/libvirt/images/install.iso", device: .cdrom, format: .raw, bus: .sata, readonly: true),
        ])
        #expect(lpar.network == [NetworkSpec(attachment: .network("default"), model: .virtio)])
        #expect(lpar.processors.desired == 2)
        #expect(lpar.memory == ResourceRange(min: .mebibytes(1024), desired: .mebibytes(2048), max: .mebibytes(4096)))
    }

    @Test func applicationWparIsSmallAndOffline() throws {
        let wpar = try #require(try store.resolve("wpar-app").wpar)
        #expect(wpar.type == .application && wpar.command == ["/bin/sh"] && wpar.rootfs == nil)
        #expect(wpar.network == .none)
        #expect(wpar.resources.memory.max == .mebibytes(256) && wpar.resources.memory.high == nil)
        #expect(wpar.resources.processes.max == 256)
        #expect(wpar.resources.cpu == WparCpuLimits(weight: 100, max: nil))
        #expect(wpar.capabilities == WparProfile.defaultApplicationCapabilities)
        #expect(wpar.userNamespace && wpar.userNamespaceBase == nil, "the shipped application profile runs in a user namespace of its own range")
        #expect(try #require(try store.resolve("wpar-app-web").wpar).userNamespace)
    }

    @Test func systemWparRunsBusyboxInit() throws {
        let wpar = try #require(try store.resolve("wpar-system").wpar)
        #expect(wpar.type == .system)
        #expect(wpar.rootfs == WparRootfs(base: "/var/lib/partctl/rootfs/busybox", overlay: true))
        #expect(wpar.command == ["/bin/busybox", "init"])
        #expect(wpar.network == .loopback)
        #expect(wpar.resources.memory == WparMemoryLimits(high: .mebibytes(96), max: .mebibytes(256)))
        #expect(wpar.capabilities == WparProfile.defaultSystemCapabilities)
        #expect(wpar.environment["PATH"] == "/sbin:/usr/sbin:/bin:/usr/bin")
    }

    @Test func lparDebianBootsTheDebianImageWithItsAgentOnTheNatNetwork() throws {
        let lpar = try #require(try store.resolve("lpar-debian").lpar)
        #expect(lpar.image == "debian-12")
        #expect(lpar.agent)
        #expect(lpar.memory.desired == .mebibytes(1024) && lpar.processors.max == 2)
        #expect(lpar.network.map(\.attachment) == [.network("default")])
    }

    @Test func debianWparRunsSystemdOnTheImage() throws {
        let wpar = try #require(try store.resolve("wpar-debian").wpar)
        #expect(wpar.type == .system && wpar.systemd == true)
        #expect(wpar.image == "debian-12" && wpar.rootfs == nil)
        #expect(wpar.command == ["/lib/systemd/systemd"])
        #expect(wpar.network == .loopback && !wpar.userNamespace)
        #expect(wpar.capabilities == WparProfile.defaultSystemCapabilities)
    }

    @Test func listShowsEveryShippedProfile() {
        let listings = store.list()
        #expect(listings.map(\.name) == ["lpar-base", "lpar-debian", "lpar-disk", "lpar-memtest", "lpar-minimal", "wpar-app", "wpar-app-web",
                                          "wpar-debian", "wpar-image", "wpar-system"])
        for listing in listings {
            if listing.name == "wpar-image" {
                // It runs an image's process: complete only with the image that run/define --image give.
                #expect(listing.problem?.contains("image: NAME") == true, "\(listing.problem ?? "")")
            } else {
                #expect(listing.problem == nil, "\(listing.name): \(listing.problem ?? "")")
            }
            #expect(listing.shadowedBy == nil)
            #expect(listing.kind == (listing.name.hasPrefix("lpar") ? .lpar : .wpar))
            #expect(listing.isAbstract == (listing.name == "lpar-base"))
        }
    }

    /// Every key of every shipped profile carries a comment: in the file, or on the line above.
    /// wpar-image with an image: the image's command, nothing of the profile's in its way.
    @Test func imageProfileTakesTheImagesProcess() throws {
        let resolved = try store.resolve("wpar-image", overrides: try ProfileOverrides.parse("image=app"))
        let wpar = try #require(resolved.wpar)
        try wpar.validate()
        #expect(wpar.type == .application && wpar.image == "app")
        #expect(wpar.command.isEmpty && wpar.environment.isEmpty)
        #expect(resolved.origin(of: "workdir")?.source == ProfileValueOrigin.defaultSource)
        #expect(wpar.userNamespace && wpar.usesMinimalInit)
    }

    @Test(arguments: ["lpar-base", "lpar-minimal", "lpar-memtest", "lpar-disk", "lpar-debian", "wpar-system", "wpar-app", "wpar-app-web",
                      "wpar-debian", "wpar-image"])
    func everyKeyIsCommented(_ name: String) throws {
        let lines = try String(contentsOfFile: "\(shippedProfiles)/\(name).yaml", encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        for (index, line) in lines.enumerated() {
            let body = line.trimmingCharacters(in: .whitespaces)
            guard !body.isEmpty, !body.hasPrefix("#") else { continue }
            let opensBlock = body.hasSuffix(":") || body.hasPrefix("- ")
            let commented = line.contains(" #") || (index > 0 && lines[index - 1].trimmingCharacters(in: .whitespaces).hasPrefix("#"))
            #expect(commented || opensBlock, "\(name).yaml:\(index + 1) has no comment: \(line)")
        }
    }
}
