import Foundation
import Testing

/// The syscall filter of WPARs (issue 8, finding 3): on by default with Docker's semantics, the
/// same for the init and for every login, a profile's own OCI document honoured, `unconfined` only
/// when said, a bad document refused before anything exists. A static probe program
/// (Tests/Fixtures/seccomp-probe.c) tries each denied call inside the WPAR.
@Suite(.serialized) struct SeccompTests {
    /// A scratch directory under /var/tmp (an application WPAR has its own /tmp, but sees /var/tmp
    /// read-only), with the probe built static into it and profiles written beside it.
    final class Scratch {
        let directory: String

        init() throws {
            directory = "/var/tmp/ptest-seccomp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let source = CLI.packageRoot + "/Tests/Fixtures/seccomp-probe.c"
            let build = try CLI.run("/usr/bin/cc", ["-static", "-O1", "-o", directory + "/seccomp-probe", source, "-lpthread"])
            try #require(build.status == 0, "cannot build the probe: \(build.stderr)")
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        var probe: String { directory + "/seccomp-probe" }

        /// Writes `text` to `name` in the scratch directory and returns its path.
        @discardableResult
        func write(_ name: String, _ text: String) throws -> String {
            let path = directory + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }

        /// A profile extending `base` with `lines` added.
        func profile(_ name: String, extends base: String, _ lines: String) throws -> String {
            try write(name, "kind: wpar\nextends: \(base)\n\(lines)\n")
        }
    }

    static func cleanup(_ name: String) {
        precondition(name.hasPrefix("ptest-"))
        _ = try? CLI.partctl("remove", name, "--force")
    }

    static func failedChecks(_ output: String) -> [Substring] {
        output.split(separator: "\n").filter { !$0.hasSuffix(": ok") }
    }

    @Test func defaultFilterDeniesEachCallInAnApplicationWpar() throws {
        let scratch = try Scratch()
        let result = try CLI.partctl("run", "--profile", "wpar-app", "--", scratch.probe, "default")
        #expect(result.status == 0, "checks failed:\n\(Self.failedChecks(result.stdout).joined(separator: "\n"))\n\(result.stderr)")
        #expect(result.stdout.hasPrefix("Seccomp: 2: ok\n"), "\(result.stdout)")
        for call in ["keyctl persistent keyring", "add_key", "unshare(CLONE_NEWUSER)", "io_uring_setup", "userfaultfd",
                     "perf_event_open", "bpf", "open_by_handle_at", "mount", "kexec_load", "init_module", "clone3",
                     "x32 getpid", "pthread_create"] {
            #expect(result.stdout.contains("\(call)"), "the probe did not check \(call)")
        }
    }

    /// The init and a login into a system WPAR get the same filter.
    @Test func initAndLoginOfASystemWparAreFiltered() throws {
        let scratch = try Scratch()
        let name = "ptest-seccomp-sys"
        Self.cleanup(name)
        defer { Self.cleanup(name) }
        let profile = try scratch.profile("system.yaml", extends: "wpar-system",
                                          "mounts: [{source: \(scratch.directory), target: /probe, readonly: true}]")
        let define = try CLI.partctl("define", name, "--profile", profile)
        try #require(define.status == 0, "\(define.stderr)")
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
        let initStatus = try CLI.partctl("login", name, "--", "grep", "^Seccomp:", "/proc/1/status")
        #expect(initStatus.stdout.split(whereSeparator: \.isWhitespace).last == "2", "init: \(initStatus.stdout) \(initStatus.stderr)")
        let login = try CLI.partctl("login", name, "--", "/probe/seccomp-probe", "default")
        #expect(login.status == 0, "checks failed:\n\(Self.failedChecks(login.stdout).joined(separator: "\n"))\n\(login.stderr)")
        #expect(login.stdout.hasPrefix("Seccomp: 2: ok\n"), "\(login.stdout)")
    }

    /// An OCI document that denies mkdir with errnoRet 1 makes mkdir fail with EPERM; the rest works.
    @Test func profileDocumentIsHonoured() throws {
        let scratch = try Scratch()
        try scratch.write("deny-mkdir.json", """
            {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
             "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
            """)
        let profile = try scratch.profile("deny-mkdir.yaml", extends: "wpar-app", "seccomp: deny-mkdir.json")
        let result = try CLI.partctl("run", "--profile", profile, "--", "/bin/sh", "-c",
                                     "grep ^Seccomp: /proc/self/status; mkdir /tmp/d; echo mkdir=$?; touch /tmp/f && echo touch=$?")
        #expect(result.stdout.contains("Seccomp:\t2"), "\(result.stdout)")
        #expect(result.stdout.contains("mkdir=1"), "\(result.stdout)")
        #expect(result.stderr.contains("Operation not permitted"), "\(result.stderr)")
        #expect(result.stdout.contains("touch=0"), "\(result.stdout)")
        // Its own document only: the default filter's denials do not apply.
        let unshare = try CLI.partctl("run", "--profile", profile, "--", "/bin/sh", "-c", "unshare -U true 2>&1; echo unshare=$?")
        #expect(unshare.stdout.contains("unshare=0"), "\(unshare.stdout)")
    }

    @Test func unconfinedMustBeSaidAndIsUnfiltered() throws {
        let scratch = try Scratch()
        let profile = try scratch.profile("unconfined.yaml", extends: "wpar-app", "seccomp: unconfined")
        let check = try CLI.partctl("profile", "check", profile)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr.contains("unconfined"), "profile check does not say it: \(check.stderr)")
        let result = try CLI.partctl("run", "--profile", profile, "--", scratch.probe, "unconfined")
        #expect(result.status == 0 && result.stdout == "Seccomp: 0: ok\n", "\(result.stdout) \(result.stderr)")
        // Without the key, the default filter.
        let plain = try CLI.partctl("profile", "check", "wpar-app")
        #expect(!plain.stderr.contains("unconfined"), "\(plain.stderr)")
    }

    @Test func badDocumentsAreRefusedAndNothingIsCreated() throws {
        let scratch = try Scratch()
        let documents: [(String, String?, String)] = [
            ("not-json.json", "{\"defaultAction\": ", "valid JSON"),
            ("unknown-key.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscals\": []}", "syscals"),
            ("unknown-action.json", "{\"defaultAction\": \"SCMP_ACT_ALOW\"}", "SCMP_ACT_ALOW"),
            ("notify.json", "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}", "SCMP_ACT_NOTIFY"),
            ("unknown-call.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\", \"nosuchcall\"], \"action\": \"SCMP_ACT_ERRNO\"}]}", "nosuchcall"),
            ("unknown-op.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"clone\"], \"action\": \"SCMP_ACT_ERRNO\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"SCMP_CMP_XX\"}]}]}", "SCMP_CMP_XX"),
            ("unknown-flag.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]}", "SECCOMP_FILTER_FLAG_NEW_LISTENER"),
            ("unknown-arch.json", "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]}", "SCMP_ARCH_Z80"),
            ("missing.json", nil, "does not exist"),
        ]
        let name = "ptest-seccomp-bad"
        Self.cleanup(name)
        defer { Self.cleanup(name) }
        for (file, text, word) in documents {
            if let text { try scratch.write(file, text) }
            let profile = try scratch.profile("bad-\(file).yaml", extends: "wpar-app", "seccomp: \(file)")
            expectRefusal(try CLI.partctl("profile", "check", profile), status: 2, mentioning: [word])
            expectRefusal(try CLI.partctl("define", name, "--profile", profile), status: 2, mentioning: [word])
            #expect(try CLI.partctl("query", name).status == 2, "\(file): a definition was created")
            expectRefusal(try CLI.partctl("run", "--profile", profile, "--", "/bin/true"), status: 2, mentioning: [word])
        }
        expectRefusal(try CLI.partctl("profile", "check", try scratch.profile("word.yaml", extends: "wpar-app", "seccomp: [a]")),
                      status: 2, mentioning: ["seccomp"])
    }
}
