import Foundation
import Glibc
import PartctlTestSupport
import PartitionImages
import PartitionModel
import Testing
@testable import PartitionCore

/// An OCI image the fixture script builds with umoci (two layers, a whiteout, User app, Env,
/// WorkingDir, Entrypoint + Cmd), imported through the importer into the store of a scratch
/// $PARTCTL_ROOT, then run by the real partctl binary: `run --image` and `define --image` +
/// `activate`. Real namespaces, cgroups and user namespaces: root, under the test lock.
@Suite(.serialized) struct OciRunTests {
    /// A scratch state root with the fixture image imported as `app`, made once per test process.
    static let state: (root: String, fixtures: String)? = {
        guard geteuid() == 0, let fixtures = OciImporterTests.fixtures else { return nil }
        let root = NSTemporaryDirectory() + "ptest-oci-root-\(getpid())"
        mkdir(root, 0o711)
        do {
            let staging = try ImageStore(stateRoot: root).stage(try ImageName(validating: "app"))
            try staging.commit(try OciImageImporter().import(reference: "oci-archive:\(fixtures)/app.tar", into: staging))
        } catch {
            return nil
        }
        atexit { _ = try? TestProcess.run("/bin/rm", ["-rf", NSTemporaryDirectory() + "ptest-oci-root-\(getpid())"]) }
        return (root, fixtures)
    }()

    static func partctl(_ arguments: [String], root: String) throws -> ProcessResult {
        try TestProcess.run(BuiltProducts.partctl, arguments, environment: ["PARTCTL_ROOT": root], timeout: 60)
    }

    static var enabled: Bool { geteuid() == 0 }

    /// Entrypoint + Cmd as the image says.
    @Test(.enabled(if: enabled, "needs root")) func runsTheImagesEntrypointAndCmd() throws {
        let state = try #require(Self.state, "the fixture image could not be imported")
        let result = try Self.partctl(["run", "--image", "app"], root: state.root)
        #expect(result.status == 0 && result.stdout == "from-cmd\n", "\(result)")
    }

    /// Arguments replace Cmd (Entrypoint /bin/sh -c stays); the user, groups, environment and working
    /// directory are the image's, and the second layer's whiteout holds.
    @Test(.enabled(if: enabled, "needs root")) func runsAsTheImagesUserInItsDirectory() throws {
        let state = try #require(Self.state, "the fixture image could not be imported")
        let script = "id -u; id -G; echo $GREETING; echo $HOME; pwd; cat /etc/doomed 2>/dev/null || echo doomed-gone; cat /srv/hello; exit 3"
        let result = try Self.partctl(["run", "--image", "app", "--", script], root: state.root)
        #expect(result.status == 3, "\(result)")
        #expect(result.stdout == "1000\n1000 50\nhello\n/home/app\n/srv\ndoomed-gone\nadded by the second layer\n", "\(result)")
    }

    /// The profile's environment and workdir win over the image's.
    @Test(.enabled(if: enabled, "needs root")) func profileValuesWinOverTheImages() throws {
        let state = try #require(Self.state, "the fixture image could not be imported")
        let profile = state.root + "/ptest-image-profile.yaml"
        try "kind: wpar\nextends: wpar-image\nworkdir: /tmp\nenvironment: {GREETING: bye}\n".write(toFile: profile, atomically: true, encoding: .utf8)
        let result = try Self.partctl(["run", "--image", "app", "--profile", profile, "--", "pwd; echo $GREETING"], root: state.root)
        #expect(result.status == 0 && result.stdout == "/tmp\nbye\n", "\(result)")
    }

    /// A defined WPAR of the image runs the same process, on a writable layer of its own.
    @Test(.enabled(if: enabled, "needs root")) func definedWparRunsTheImage() throws {
        let state = try #require(Self.state, "the fixture image could not be imported")
        let name = TestNames.unique("oci-web")
        let cleanup = Cleanup()
        cleanup.add { _ = try? Self.partctl(["remove", name, "--force"], root: state.root) }
        let profile = state.root + "/ptest-image-web.yaml"
        try "kind: wpar\nextends: wpar-image\ncommand: [\"id -u >/tmp/ran-as; echo written >/srv/mine; sleep 60\"]\n"
            .write(toFile: profile, atomically: true, encoding: .utf8)
        let defined = try Self.partctl(["define", name, "--image", "app", "--profile", profile], root: state.root)
        #expect(defined.status == 0, "\(defined)")
        let activated = try Self.partctl(["activate", name], root: state.root)
        #expect(activated.status == 0, "\(activated)")
        let ran = waitUntil(timeout: 10, interval: 0.1) {
            (try? Self.partctl(["login", name, "--", "/bin/cat", "/tmp/ran-as"], root: state.root).stdout) == "1000\n"
        }
        #expect(ran, "the WPAR's command ran as uid 1000")
        let written = try Self.partctl(["login", name, "--", "/bin/cat", "/srv/mine"], root: state.root)
        #expect(written.stdout == "written\n", "the image's user writes its own directory in the WPAR's layer: \(written)")
        #expect(access(state.root + "/store/app/rootfs/srv/mine", F_OK) != 0, "the image itself is untouched")
    }

    /// `define NAME --image IMAGE` alone takes the wpar-image profile for an OCI image.
    @Test(.enabled(if: enabled, "needs root")) func defineWithTheImageAlone() throws {
        let state = try #require(Self.state, "the fixture image could not be imported")
        let name = TestNames.unique("oci-def")
        let cleanup = Cleanup()
        cleanup.add { _ = try? Self.partctl(["remove", name, "--force"], root: state.root) }
        let defined = try Self.partctl(["define", name, "--image", "app"], root: state.root)
        #expect(defined.status == 0, "\(defined)")
        let shown = try Self.partctl(["query", name, "-F", "profile"], root: state.root)
        #expect(shown.stdout == "wpar-image\n", "\(shown)")
    }

    /// A User the image's /etc/passwd lacks, and a missing image, are refused with one line, exit 2.
    @Test(.enabled(if: enabled, "needs root")) func refusesWhatTheImageCannotGive() throws {
        let state = try #require(Self.state, "the fixture image could not be imported")
        let missing = try Self.partctl(["run", "--image", "ptest-no-such-image", "--", "true"], root: state.root)
        #expect(missing.status == 2 && missing.stderr.contains("No image named 'ptest-no-such-image'"), "\(missing)")
        #expect(missing.stderr.split(separator: "\n").count == 1, "\(missing)")
    }
}
