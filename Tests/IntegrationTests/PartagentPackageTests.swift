import Foundation
import PartctlTestSupport
import Testing

/// The partagent Debian package (`make deb`): what an administrator installs in any Debian-family
/// guest and what the Debian image installs. Built here from the same binaries `make deb` packs
/// (.build-guest/image, made by `make guest-binaries`), into a directory of the test's own.
@Suite(.serialized) struct PartagentPackageTests {
    static var binaries: String { CLI.packageRoot + "/.build-guest/image" }

    static func build(into directory: String) throws -> ProcessResult {
        try CLI.run("/bin/sh", [CLI.packageRoot + "/packaging/deb/build-deb.sh", binaries, directory], timeout: 300)
    }

    static func debInfo(_ deb: String, _ arguments: String...) throws -> String {
        try CLI.run("/usr/bin/dpkg-deb", arguments + [deb]).stdout
    }

    @Test func packageHoldsTheAgentItsSupervisorTheUnitAndTheUdevRule() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binaries + "/partagent"),
                     "no \(Self.binaries)/partagent: run make guest-binaries (or make deb) first")
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let built = try Self.build(into: directory)
        try #require(built.status == 0, "\(built)")
        let deb = directory + "/partagent.deb"
        let versioned = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("partagent_") }
        #expect(versioned.count == 1 && versioned[0].hasSuffix("_amd64.deb"), "\(versioned)")

        let info = try Self.debInfo(deb, "--info")
        #expect(info.contains("Package: partagent"), "\(info)")
        #expect(info.contains("Version: 0."), "\(info)")
        #expect(info.contains("libc6 (>= 2.36)") && info.contains("libstdc++6") && info.contains("systemd, udev"), "\(info)")
        for script in ["postinst", "prerm", "postrm"] { #expect(info.contains(script), "no \(script): \(info)") }

        let contents = try Self.debInfo(deb, "--contents")
        for (path, mode) in [("./usr/sbin/partagent", "-rwxr-xr-x root/root"),
                             ("./usr/libexec/partctl/partctl-supervisor", "-rwxr-xr-x root/root"),
                             ("./usr/lib/systemd/system/partagent.service", "-rw-r--r-- root/root"),
                             ("./usr/lib/udev/rules.d/70-partagent.rules", "-rw-r--r-- root/root")] {
            let line = contents.split(separator: "\n").first { $0.hasSuffix(" " + path) }
            #expect(line?.hasPrefix(mode) == true, "\(path): \(line.map(String.init) ?? "missing") in \(contents)")
        }

        // The unit and the rule as packed: started by the port's device, restarted always, no network.
        let unpacked = directory + "/root"
        try #require(try CLI.run("/usr/bin/dpkg-deb", ["-x", deb, unpacked]).status == 0)
        let unit = try String(contentsOfFile: unpacked + "/usr/lib/systemd/system/partagent.service", encoding: .utf8)
        for line in ["ExecStart=/usr/sbin/partagent", "Restart=always", "KillMode=process", "Delegate=yes",
                     "BindsTo=dev-virtio\\x2dports-org.partctl.agent.0.device",
                     "After=dev-virtio\\x2dports-org.partctl.agent.0.device"] {
            #expect(unit.split(separator: "\n").contains(Substring(line)), "no '\(line)' in the unit:\n\(unit)")
        }
        let settings = unit.split(separator: "\n").filter { !$0.hasPrefix("#") }
        #expect(!settings.contains { $0.lowercased().contains("network") }, "the agent's unit waits for the network:\n\(unit)")
        let rule = try String(contentsOfFile: unpacked + "/usr/lib/udev/rules.d/70-partagent.rules", encoding: .utf8)
        #expect(rule.contains(#"ATTR{name}=="org.partctl.agent.0", ENV{SYSTEMD_WANTS}+="partagent.service""#), "\(rule)")
        #expect(rule.contains(#"TAG+="systemd""#), "\(rule)")
        // The supervisor is static (it runs in every guest, whatever its libraries); the agent runs.
        #expect(try CLI.run("/usr/bin/ldd", [unpacked + "/usr/libexec/partctl/partctl-supervisor"]).status != 0)
        let version = try CLI.run(unpacked + "/usr/sbin/partagent", ["--version"])
        #expect(version.status == 0 && version.stdout.hasPrefix("partagent 0."), "\(version)")

        // The Debian image's cache key holds the package's digest: equal binaries give equal bytes.
        let again = directory + "/again"
        try #require(try Self.build(into: again).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: deb)) == Data(contentsOf: URL(fileURLWithPath: again + "/partagent.deb")),
                "two builds of the same binaries differ")
    }

    private func makeTemporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "ptest-deb-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
