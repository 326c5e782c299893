import Foundation
import Glibc
import PartctlTestSupport
import PartitionModel
import Testing
@testable import PartitionCore

/// The OCI importer on images Tests/Fixtures/oci-images.sh builds with umoci (and crafts by hand
/// for the bad ones), straight into a scratch staging directory: real skopeo, real umoci, as root
/// (under the test lock). The CLI's `image import` and `run --image` are in IntegrationTests.
@Suite(.serialized) struct OciImporterTests {
    /// The fixtures, built once per test process.
    static let fixtures: String? = {
        guard geteuid() == 0 else { return nil }
        let directory = NSTemporaryDirectory() + "ptest-oci-fixtures-\(getpid())"
        guard let built = try? TestProcess.run("/bin/sh", [BuiltProducts.packageRoot + "/Tests/Fixtures/oci-images.sh", directory], timeout: 300),
              built.status == 0 else { return nil }
        atexit { _ = try? TestProcess.run("/bin/rm", ["-rf", NSTemporaryDirectory() + "ptest-oci-fixtures-\(getpid())"]) }
        return directory
    }()

    static func staging() -> String {
        let directory = NSTemporaryDirectory() + "ptest-oci-staging-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        mkdir(directory, 0o700)
        return directory
    }

    static func entries(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    @Test(.enabled(if: geteuid() == 0, "needs root: umoci keeps file owners only as root"),
          arguments: ["oci-archive:%/app.tar", "oci-archive:%/app.tar:app", "oci:%/layout:app", "docker-archive:%/app-docker.tar"])
    func importsTheTestImage(reference: String) throws {
        let fixtures = try #require(Self.fixtures, "the fixture images could not be built")
        let staging = Self.staging()
        defer { _ = try? TestProcess.run("/bin/rm", ["-rf", staging]) }
        let imported = try OciImageImporter().importImage(reference: reference.replacingOccurrences(of: "%", with: fixtures), into: staging)
        #expect(Self.entries(staging) == ["rootfs"], "only the root is left in the staging")
        #expect(imported.digest.hasPrefix("sha256:") && imported.digest.count == 71)
        #expect(imported.entrypoint == ["/bin/sh", "-c"])
        #expect(imported.cmd == ["echo from-cmd"])
        #expect(imported.env.contains("GREETING=hello"))
        #expect(imported.workdir == "/srv")
        #expect(imported.user == "app")
        #expect(imported.size > 1_000_000)
        // The whiteout of the second layer holds; owners are the image's.
        #expect(access(staging + "/rootfs/etc/doomed", F_OK) != 0)
        #expect(FileManager.default.fileExists(atPath: staging + "/rootfs/srv/hello"))
        var status = stat()
        #expect(stat(staging + "/rootfs/srv", &status) == 0 && status.st_uid == 1000 && status.st_gid == 1000)
    }

    @Test(.enabled(if: geteuid() == 0, "needs root: umoci keeps file owners only as root"),
          arguments: [
            ("truncated.tar", "unexpected EOF"),
            ("bad-digest.tar", "Digest did not match"),
            ("dotdot.tar", "'etc/../../escape'"),
            ("absolute.tar", "the absolute entry '/etc/escape'"),
            ("symlink.tar", "'../../../etc/shadow', which climbs out"),
            ("hardlink.tar", "the hard link 'etc/link' to '../outside'"),
            ("device.tar", "the device node 'etc/mem'"),
          ])
    func refusesBadArchives(file: String, words: String) throws {
        let fixtures = try #require(Self.fixtures, "the fixture images could not be built")
        let staging = Self.staging()
        defer { _ = try? TestProcess.run("/bin/rm", ["-rf", staging]) }
        do {
            _ = try OciImageImporter().importImage(reference: "oci-archive:\(fixtures)/\(file)", into: staging)
            Issue.record("\(file) was imported")
        } catch {
            #expect(error.code == .invalidArgument, "\(error)")
            #expect(error.message.contains(words), "\(error.message)")
            #expect(!error.message.contains("\n"), "one line: \(error.message)")
        }
        #expect(!Self.entries(staging).contains("rootfs"), "nothing unpacked: \(Self.entries(staging))")
    }

    @Test func refusesReferencesItDoesNotTake() {
        for reference in ["docker-daemon:app", "/tmp/app.tar", "oci-archive:/nonexistent/app.tar", "oci:/etc/passwd", "oci-archive:/tmp"] {
            #expect(throws: PartitionError.self, "\(reference)") { try OciImageImporter.checkReference(reference) }
        }
    }
}
