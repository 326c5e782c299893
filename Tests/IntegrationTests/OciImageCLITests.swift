import Foundation
import Glibc
import PartctlTestSupport
import Testing

/// OCI images through the command line (issue 10, part 6 and its bad input), as root under the
/// test lock: images Tests/Fixtures/oci-images.sh builds with umoci (two layers, the second
/// deleting a file of the first through a whiteout, User app, Env, WorkingDir, Entrypoint + Cmd)
/// and crafts by hand (bad layers), imported with `partctl image import` into a state root of the
/// test's own, run with `run --image` and as a defined WPAR.
@Suite(.serialized) struct OciImageCLITests {
    final class Scratch {
        let top: String
        var environment: [String: String] { ["PARTCTL_ROOT": top + "/state"] }
        var store: String { top + "/state/store" }
        var fixtures: String { top + "/images" }

        init() throws {
            var template = Array("/var/tmp/ptest-oci-XXXXXX".utf8CString)
            guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else { throw POSIXError(.EIO) }
            top = String(cString: template)
            let built = try CLI.run("/bin/sh", [CLI.packageRoot + "/Tests/Fixtures/oci-images.sh", fixtures], timeout: 300)
            guard built.status == 0 else { throw PartitionTestFailure("the fixture images could not be built: \(built)") }
        }

        deinit { _ = try? CLI.run("/bin/rm", ["-rf", "--one-file-system", top]) }

        @discardableResult
        func partctl(_ arguments: String...) throws -> CLI.Result {
            try CLI.run(CLI.partctlPath, arguments, environment: environment, timeout: 120)
        }

        func entries(_ path: String) -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
        }

        /// Images and staging directories in the store (its lock files aside).
        var contents: [String] {
            entries(store).filter { $0 != ".locks" && $0 != ".staging" } + entries(store + "/.staging").map { ".staging/" + $0 }
        }
    }

    struct PartitionTestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    static var isRoot: Bool { geteuid() == 0 }

    /// The issue's own example: import an oci-archive, run it; its user, environment, directory and
    /// whiteout are the image's. The oci: layout and the docker-archive give the same image.
    @Test(.enabled(if: isRoot, "needs root")) func importAndRunEveryTransport() throws {
        let scratch = try Scratch()
        let imported = try scratch.partctl("image", "import", "oci-archive:\(scratch.fixtures)/app.tar", "--name", "ptest-app")
        try #require(imported.status == 0, "\(imported)")
        let shown = try scratch.partctl("image", "show", "ptest-app", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any], "\(shown)")
        #expect(object["kind"] as? [String] == ["oci"], "\(shown.stdout)")

        let script = "id -u; echo $GREETING; pwd; cat /etc/doomed 2>/dev/null || echo doomed-gone; cat /srv/hello"
        let run = try scratch.partctl("run", "--image", "ptest-app", "--", script)
        #expect(run.status == 0, "\(run)")
        #expect(run.stdout == "1000\nhello\n/srv\ndoomed-gone\nadded by the second layer\n", "\(run)")
        let plain = try scratch.partctl("run", "--image", "ptest-app")
        #expect(plain.stdout == "from-cmd\n", "Entrypoint + Cmd: \(plain)")

        for (reference, name) in [("oci:\(scratch.fixtures)/layout:app", "ptest-app-layout"),
                                  ("docker-archive:\(scratch.fixtures)/app-docker.tar", "ptest-app-docker")] {
            let again = try scratch.partctl("image", "import", reference, "--name", name)
            try #require(again.status == 0, "\(reference): \(again)")
            let ran = try scratch.partctl("run", "--image", name, "--", "id -u; pwd; echo $GREETING; test -e /etc/doomed || echo gone")
            #expect(ran.stdout == "1000\n/srv\nhello\ngone\n", "\(reference): \(ran)")
        }
    }

    /// `define web --image app` + `activate`: the image's process as a defined WPAR; query shows
    /// the image it runs.
    @Test(.enabled(if: isRoot, "needs root")) func defineAndActivateAnImage() throws {
        let scratch = try Scratch()
        try #require(try scratch.partctl("image", "import", "oci-archive:\(scratch.fixtures)/app.tar", "--name", "ptest-app").status == 0)
        let name = TestNames.unique("oci-web")
        let cleanup = Cleanup()
        cleanup.add { _ = try? scratch.partctl("remove", name, "--force") }
        // A profile's command replaces the image's Cmd: its Entrypoint (/bin/sh -c) runs it.
        let profile = scratch.top + "/ptest-web.yaml"
        try "kind: wpar\nextends: wpar-image\ncommand: [\"id -u >/tmp/ran-as; sleep 60\"]\n".write(toFile: profile, atomically: true, encoding: .utf8)
        let defined = try scratch.partctl("define", name, "--image", "ptest-app", "--profile", profile)
        try #require(defined.status == 0, "\(defined)")
        let activated = try scratch.partctl("activate", name)
        #expect(activated.status == 0, "\(activated)")
        let ran = waitUntil(timeout: 10, interval: 0.1) {
            (try? scratch.partctl("login", name, "--", "/bin/cat", "/tmp/ran-as").stdout) == "1000\n"
        }
        #expect(ran, "the WPAR's command ran as the image's user")
        let image = try scratch.partctl("query", name, "-F", "image")
        #expect(image.stdout == "ptest-app\n", "\(image)")
    }

    /// Each bad archive is refused with one line, exit 2, and leaves nothing in the store.
    @Test(.enabled(if: isRoot, "needs root"), arguments: [
        ("truncated.tar", "unexpected EOF"),
        ("bad-digest.tar", "Digest did not match"),
        ("dotdot.tar", "'etc/../../escape'"),
        ("absolute.tar", "absolute entry '/etc/escape'"),
        ("symlink.tar", "'../../../etc/shadow', which climbs out"),
        ("hardlink.tar", "hard link 'etc/link'"),
        ("device.tar", "device node 'etc/mem'"),
    ])
    func badArchivesAreRefused(file: String, words: String) throws {
        let scratch = try Scratch()
        let result = try scratch.partctl("image", "import", "oci-archive:\(scratch.fixtures)/\(file)", "--name", "ptest-bad")
        expectRefusal(result, status: 2, mentioning: [words])
        #expect(scratch.contents.isEmpty, "left in the store: \(scratch.contents)")
        #expect(try scratch.partctl("image", "list", "-F", "name").stdout.isEmpty)
    }

    /// The same name twice: the second import is refused and the first image stays as it was.
    @Test(.enabled(if: isRoot, "needs root")) func sameNameTwiceIsRefused() throws {
        let scratch = try Scratch()
        try #require(try scratch.partctl("image", "import", "oci-archive:\(scratch.fixtures)/app.tar", "--name", "ptest-app").status == 0)
        let before = try scratch.partctl("image", "show", "ptest-app", "-F", "digest").stdout
        let second = try scratch.partctl("image", "import", "docker-archive:\(scratch.fixtures)/app-docker.tar", "--name", "ptest-app")
        expectRefusal(second, status: 2, mentioning: ["ptest-app", "exists"])
        #expect(try scratch.partctl("image", "show", "ptest-app", "-F", "digest").stdout == before)
        #expect(scratch.contents == ["ptest-app"], "\(scratch.contents)")
    }
}
