import Foundation
import Testing

/// Part 8 of issue 10: an LPAR whose OS draws on a screen. Debian's GRUB rescue ISO (grub-rescue-pc)
/// boots as a cdrom in an LPAR from a profile extending lpar-disk (graphics: vnc), and a screenshot
/// shows GRUB's menu: the PNG partctl wrote is decoded by Python's zlib (Tests/Fixtures/png-pixels.py,
/// independent of partctl) and counted. Also the refusals of `screenshot`, and the address that
/// `query` and `console --graphics` read from the live domain.
@Suite(.serialized) struct GraphicsConsoleTests {
    static let lpar = "ptest-grub"
    static let rescueISO = "/usr/lib/grub-rescue/grub-rescue-cdrom.iso"
    /// libvirt's own directory: QEMU may read there, and files are copied there rather than
    /// handed over from /usr, so that libvirt relabels nothing of the system's.
    static let images = "/var/lib/libvirt/images"

    /// GRUB's menu: a frame, a highlighted entry across the screen and help text; far more lit
    /// pixels than SeaBIOS's few lines (~3000) or QEMU's "not initialized" notice (~1000).
    static let grubMenuPixels = 10_000

    struct Pixels { let width: Int, height: Int, nonBlack: Int, digest: String }

    static func pixels(_ png: String) throws -> Pixels {
        let result = try CLI.run("/usr/bin/python3", [CLI.packageRoot + "/Tests/Fixtures/png-pixels.py", png])
        let fields = result.stdout.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
        guard result.status == 0, fields.count == 4, let width = Int(fields[0]), let height = Int(fields[1]),
              let lit = Int(fields[2]) else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: "not a PNG: \(result.stderr)"])
        }
        return Pixels(width: width, height: height, nonBlack: lit, digest: fields[3])
    }

    @Test func grubRescueIsoDrawsItsMenuAndAScreenshotShowsIt() throws {
        try #require(FileManager.default.fileExists(atPath: Self.rescueISO), "grub-rescue-pc is not installed")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-grub-\(UUID().uuidString)").path
        let disk = "\(Self.images)/ptest-grub-disk.raw", iso = "\(Self.images)/ptest-grub-rescue.iso"
        CLI.removeDomain(Self.lpar)
        for leftover in [disk, iso] { try? FileManager.default.removeItem(atPath: leftover) }
        defer {
            CLI.removeDomain(Self.lpar)
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: disk)
            try? FileManager.default.removeItem(atPath: iso)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // An empty disk (SeaBIOS finds nothing to boot there and goes on to the cdrom) and the ISO.
        try #require(CLI.run("/usr/bin/truncate", ["-s", "16M", disk]).status == 0)
        try FileManager.default.copyItem(atPath: Self.rescueISO, toPath: iso)
        let profile = directory + "/ptest-grub.yaml"
        try """
        kind: lpar
        extends: lpar-disk
        memory: {min: 256MiB, desired: 256MiB, max: 256MiB}
        processors: {min: 1, desired: 1, max: 1}
        network: []
        disks:
          - {file: \(disk), format: raw, bus: virtio}
          - {file: \(iso), device: cdrom, format: raw}
        """.write(toFile: profile, atomically: true, encoding: .utf8)

        let explain = try CLI.partctl("profile", "explain", profile)
        #expect(explain.stdout.contains("graphics.type") && explain.stdout.contains("vnc"), "\(explain.stdout)")
        try #require(CLI.partctl("define", Self.lpar, "--profile", profile).status == 0)
        #expect(try CLI.partctl("query", Self.lpar, "-F", "graphics").stdout == "vnc\n")
        let shot = directory + "/screen.png"
        // Stopped: refused, nothing written.
        let stopped = try CLI.partctl("screenshot", Self.lpar, shot)
        expectRefusal(stopped, status: 1, mentioning: ["not running"])
        #expect(!FileManager.default.fileExists(atPath: shot))

        try #require(CLI.partctl("activate", Self.lpar, timeout: 60).status == 0)
        let xml = try CLI.virsh("dumpxml", Self.lpar).stdout
        #expect(xml.contains("<graphics type='vnc'") && xml.contains("listen='127.0.0.1'") && xml.contains("<model type='vga'"), "\(xml)")
        // The port is libvirt's choice, read back from the live XML.
        let port = try #require(xml.firstMatch(of: /<graphics type='vnc' port='(\d+)'/).map { String($0.1) })
        #expect(try CLI.partctl("query", Self.lpar, "-F", "graphics").stdout == "vnc://127.0.0.1:\(port)\n")
        let console = try CLI.partctl("console", "--graphics", "--no-viewer", Self.lpar)
        #expect(console.status == 0, "\(console.stderr)")
        #expect(console.stdout.contains("\(Self.lpar): vnc://127.0.0.1:\(port)\n"), "\(console.stdout)")
        #expect(console.stdout.contains("ssh -N -L \(port):127.0.0.1:\(port) "), "\(console.stdout)")

        // Screenshots until the screen has changed from the first one and shows GRUB's menu (its
        // 30 s countdown leaves time); no fixed pause.
        var first: Pixels?
        var menu: Pixels?
        var seen: [Int] = []
        _ = try CLI.waitFor(180, interval: 0.3) {
            let taken = try CLI.partctl("screenshot", Self.lpar, shot, "--force")
            guard taken.status == 0 else { return false }
            let now = try Self.pixels(shot)
            seen.append(now.nonBlack)
            if first == nil { first = now }
            if now.digest != first?.digest && now.nonBlack >= Self.grubMenuPixels { menu = now }
            return menu != nil
        }
        let drawn = try #require(menu, "GRUB's menu never appeared; lit pixels seen: \(seen)")
        #expect(drawn.width >= 640 && drawn.height >= 400)

        // Refusals: an existing file without --force, a directory; nothing changed.
        let before = try Data(contentsOf: URL(fileURLWithPath: shot))
        expectRefusal(try CLI.partctl("screenshot", Self.lpar, shot), status: 2, mentioning: ["exists", "--force"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: shot)) == before)
        expectRefusal(try CLI.partctl("screenshot", Self.lpar, directory, "--force"), status: 2, mentioning: ["directory"])
    }

    /// A WPAR and an LPAR without graphics have no screen: one line each, exit 2, nothing written.
    @Test func screenshotIsRefusedWithoutAScreen() throws {
        let lpar = "ptest-noscreen", wpar = "ptest-noscreen-w"
        CLI.removeDomain(lpar)
        _ = try? CLI.partctl("remove", wpar, "--force")
        defer {
            CLI.removeDomain(lpar)
            _ = try? CLI.partctl("remove", wpar, "--force")
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-noscreen-\(UUID().uuidString).png").path
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-memtest").status == 0)
        expectRefusal(try CLI.partctl("screenshot", lpar, file), status: 2, mentioning: ["graphics"])
        expectRefusal(try CLI.partctl("console", "--graphics", lpar), status: 2, mentioning: ["graphics"])
        try #require(CLI.partctl("define", wpar, "--profile", "wpar-app").status == 0)
        expectRefusal(try CLI.partctl("screenshot", wpar, file), status: 2, mentioning: ["WPAR"])
        #expect(!FileManager.default.fileExists(atPath: file))
        #expect(try CLI.partctl("query", lpar, "-F", "graphics").stdout == "-\n")
    }
}

/// The display's password comes from a root-only file, reaches libvirt's own (root-only) domain
/// definition and nothing else: not the stored profile, not `query`, not libvirt's ordinary XML.
@Suite(.serialized) struct GraphicsPasswordTests {
    @Test func passwordStaysOutOfEveryOutput() throws {
        let lpar = "ptest-vncpass"
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-vncpass-\(UUID().uuidString)").path
        CLI.removeDomain(lpar)
        defer {
            CLI.removeDomain(lpar)
            try? FileManager.default.removeItem(atPath: directory)
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let secret = "pt\(Int.random(in: 100_000...999_999))"
        let passwordFile = directory + "/vnc.pass"
        try "\(secret)\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        let profile = directory + "/vncpass.yaml"
        try "kind: lpar\nextends: lpar-memtest\ngraphics: {type: vnc, password_file: \(passwordFile)}\n"
            .write(toFile: profile, atomically: true, encoding: .utf8)

        // Readable by others: refused by check and define alike, nothing defined.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: passwordFile)
        expectRefusal(try CLI.partctl("profile", "check", profile), status: 2, mentioning: ["graphics.password_file", "root only"])
        expectRefusal(try CLI.partctl("define", lpar, "--profile", profile), status: 2, mentioning: ["graphics.password_file"])
        #expect(try !CLI.domainNames().contains(lpar))

        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile)
        #expect(try CLI.partctl("profile", "check", profile).status == 0)
        try #require(CLI.partctl("define", lpar, "--profile", profile).status == 0)
        #expect(try CLI.virsh("dumpxml", "--security-info", lpar).stdout.contains("passwd='\(secret)'"))
        for output in [try CLI.virsh("dumpxml", lpar).stdout, try CLI.partctl("query", lpar, "--json").stdout,
                       try CLI.partctl("tree", "--json").stdout, try CLI.partctl("profile", "explain", profile).stdout] {
            #expect(!output.contains(secret), "the password shows: \(output)")
        }
    }

    @Test func aVncPasswordLongerThanVncTakesIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-vncpass-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let passwordFile = directory + "/long.pass"
        try "123456789\n".write(toFile: passwordFile, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: passwordFile)
        let profile = directory + "/long.yaml"
        try "kind: lpar\nextends: lpar-memtest\ngraphics: {type: vnc, password_file: \(passwordFile)}\n"
            .write(toFile: profile, atomically: true, encoding: .utf8)
        expectRefusal(try CLI.partctl("profile", "check", profile), status: 2, mentioning: ["at most 8"])
    }
}
