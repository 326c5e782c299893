import Foundation
import Testing

/// WPARs nested in an LPAR get the same syscall filter as host WPARs: partagent compiles it in the
/// guest (libseccomp is linked into it), from the spec the host sends. The default needs no field
/// on the wire; `unconfined` and a profile's own document travel in the spec's optional `seccomp`.
@Suite(.serialized) struct NestedSeccompTests {
    @Test func nestedWparsAreFiltered() throws {
        let lpar = "ptest-nest-seccomp"
        CLI.removeDomain(lpar)
        defer { CLI.removeDomain(lpar) }
        let directory = "/tmp/ptest-nested-seccomp-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func profile(_ name: String, _ lines: String) throws -> String {
            let path = "\(directory)/\(name).yaml"
            try "kind: wpar\nextends: wpar-app\ncommand: [/bin/sleep, \"3600\"]\n\(lines)\n".write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        try #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}"#
            .write(toFile: "\(directory)/deny-mkdir.json", atomically: true, encoding: .utf8)

        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let activate = try CLI.partctl("activate", lpar, timeout: 180)
        try #require(activate.status == 0, "\(activate.stderr)")

        // The default: the init and a login are filtered; a user namespace cannot be made.
        let plain = "\(lpar)/plain"
        try #require(CLI.partctl("define", plain, "--profile", try profile("plain", "")).status == 0)
        let start = try CLI.partctl("activate", plain)
        try #require(start.status == 0, "\(start.stderr)")
        let status = try CLI.partctl("login", plain, "--", "grep", "^Seccomp:", "/proc/1/status", "/proc/self/status")
        #expect(status.stdout.components(separatedBy: "Seccomp:\t2").count == 3, "init and login: \(status.stdout) \(status.stderr)")
        let unshare = try CLI.partctl("login", plain, "--", "unshare", "-U", "true")
        #expect(unshare.status != 0 && unshare.stderr.contains("Operation not permitted"), "\(unshare.status) \(unshare.stderr)")

        // A profile's own document, carried to the guest in the spec.
        let own = "\(lpar)/own"
        try #require(CLI.partctl("define", own, "--profile", try profile("own", "seccomp: deny-mkdir.json")).status == 0)
        let ownStart = try CLI.partctl("activate", own)
        try #require(ownStart.status == 0, "\(ownStart.stderr)")
        let mkdir = try CLI.partctl("login", own, "--", "mkdir", "/tmp/ptest")
        #expect(mkdir.status != 0 && mkdir.stderr.contains("Operation not permitted"), "\(mkdir.status) \(mkdir.stderr)")
        #expect(try CLI.partctl("login", own, "--", "touch", "/tmp/ptest").status == 0)

        // unconfined, said in the profile.
        let open = "\(lpar)/open"
        try #require(CLI.partctl("define", open, "--profile", try profile("open", "seccomp: unconfined")).status == 0)
        let openStart = try CLI.partctl("activate", open)
        try #require(openStart.status == 0, "\(openStart.stderr)")
        let openStatus = try CLI.partctl("login", open, "--", "grep", "^Seccomp:", "/proc/self/status")
        #expect(openStatus.stdout == "Seccomp:\t0\n", "\(openStatus.stdout) \(openStatus.stderr)")

        // A bad document is refused on the host before anything reaches the guest.
        try #"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["nosuchcall"], "action": "SCMP_ACT_ERRNO"}]}"#
            .write(toFile: "\(directory)/bad.json", atomically: true, encoding: .utf8)
        expectRefusal(try CLI.partctl("define", "\(lpar)/bad", "--profile", try profile("bad", "seccomp: bad.json")),
                      status: 2, mentioning: ["nosuchcall"])
        #expect(try CLI.partctl("query", "\(lpar)/bad").status != 0)
    }
}
