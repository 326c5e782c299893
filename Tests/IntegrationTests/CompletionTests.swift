import Foundation
import PartctlTestSupport
import Testing

/// Shell completion and man pages as a user meets them: bash's completion function run for real
/// on the generated script, and the generated pages rendered by man(1).
@Suite(.serialized) struct CompletionTests {
    /// Runs bash's completion function `_partctl` for the words typed so far (the last one is the
    /// word being completed) and returns what it offers, one per line.
    static func bashCompletions(_ words: [String], environment: [String: String] = [:]) throws -> ProcessResult {
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-completion-\(UUID().uuidString).bash")
        defer { try? FileManager.default.removeItem(at: script) }
        let generated = try CLI.partctl("--generate-completion-script", "bash")
        try #require(generated.status == 0, "\(generated.stderr)")
        try generated.stdout.write(to: script, atomically: true, encoding: .utf8)
        // COMP_WORDS[0] is the binary itself: the script calls it back for the dynamic values.
        let quoted = ([CLI.binary] + words.dropFirst()).map { "'\($0)'" }.joined(separator: " ")
        let line = ([CLI.binary] + words.dropFirst()).joined(separator: " ")
        let driver = """
            source '\(script.path)'
            COMP_WORDS=(\(quoted)); COMP_CWORD=\(words.count - 1)
            COMP_LINE='\(line)'; COMP_POINT=${#COMP_LINE}
            _partctl '\(CLI.binary)' '\(words.last ?? "")' '\(words.count > 1 ? words[words.count - 2] : "")'
            printf '%s\\n' "${COMPREPLY[@]}"
            """
        return try CLI.run("/bin/bash", ["-c", driver], environment: environment, timeout: 30)
    }

    static func offered(_ result: ProcessResult) -> [String] {
        result.stdout.split(separator: "\n").map(String.init)
    }

    @Test func bashCompletesPartitionPathsAndProfiles() throws {
        let wpar = TestNames.unique("compl")
        let lpar = TestNames.unique("compl-lp")
        let cleanup = Cleanup()
        cleanup.add { removeTestPartition(wpar) }
        cleanup.add { CLI.removeDomain(lpar) }
        // A host WPAR, a defined LPAR (never booted) and a WPAR nested in it.
        try #require(try CLI.partctl("define", wpar, "--profile", "wpar-app").status == 0)
        let defineLpar = try CLI.partctl("define", lpar, "--profile", "lpar-minimal")
        try #require(defineLpar.status == 0, "\(defineLpar.stderr)")
        let defineNested = try CLI.partctl("define", "\(lpar)/web", "--profile", "wpar-app-web")
        try #require(defineNested.status == 0, "\(defineNested.stderr)")

        let all = try Self.bashCompletions(["partctl", "activate", ""])
        #expect(all.status == 0 && all.stderr.isEmpty, "\(all)")
        #expect(Self.offered(all).contains(wpar), "the host WPAR is not offered: \(Self.offered(all))")
        #expect(Self.offered(all).contains(lpar), "the LPAR is not offered: \(Self.offered(all))")
        #expect(Self.offered(all).contains("\(lpar)/web"), "the nested WPAR is not offered: \(Self.offered(all))")

        // A prefix narrows it: only this test's partitions start with their shared part.
        let narrowed = try Self.bashCompletions(["partctl", "shutdown", String(lpar.prefix(lpar.count - 2))])
        #expect(Self.offered(narrowed) == [lpar, "\(lpar)/web"].filter { $0.hasPrefix(String(lpar.prefix(lpar.count - 2))) },
                "\(Self.offered(narrowed))")

        let profiles = try Self.bashCompletions(["partctl", "define", "ptest-x", "--profile", "wpar-a"])
        #expect(Self.offered(profiles).sorted() == ["wpar-app", "wpar-app-web"], "\(profiles)")
        let runProfiles = try Self.bashCompletions(["partctl", "run", "--profile", "lpar-mi"])
        #expect(Self.offered(runProfiles) == ["lpar-minimal"], "\(runProfiles)")
    }

    /// libvirtd unreachable: host WPARs are still offered, nothing reaches the shell's stderr, and
    /// completion ends within its bound.
    @Test func completionWithoutLibvirtStaysQuietAndBounded() throws {
        let wpar = TestNames.unique("compl-nolv")
        let cleanup = Cleanup()
        cleanup.add { removeTestPartition(wpar) }
        try #require(try CLI.partctl("define", wpar, "--profile", "wpar-app").status == 0)
        let started = monotonicSeconds()
        let result = try Self.bashCompletions(["partctl", "query", ""],
                                              environment: ["PARTCTL_CONNECT": "qemu+unix:///system?socket=/nonexistent/ptest.sock"])
        #expect(monotonicSeconds() - started < 5)
        #expect(result.status == 0 && result.stderr.isEmpty, "\(result)")
        #expect(Self.offered(result).contains(wpar), "\(Self.offered(result))")
    }

    /// The generated man pages (make docs-generated; make test runs it first) render with man(1).
    @Test func manPagesRender() throws {
        let directory = BuiltProducts.packageRoot + "/.build/install-docs/man1"
        let pages = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        try #require(pages.contains("partctl.1"), "no generated man pages in \(directory): run 'make docs-generated' first")
        #expect(pages.contains("partctl.activate.1") && pages.contains("partctl.query.1"), "\(pages)")
        let rendered = try CLI.run("/usr/bin/man", ["-l", "\(directory)/partctl.activate.1"], environment: ["MANPAGER": "cat", "MANWIDTH": "80"])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(rendered.stdout.contains("partctl activate"), "\(rendered.stdout.prefix(400))")
        #expect(rendered.stdout.contains("--profile"), "\(rendered.stdout.prefix(400))")
        let top = try CLI.run("/usr/bin/man", ["-l", "\(directory)/partctl.1"], environment: ["MANPAGER": "cat"])
        #expect(top.stdout.contains("shutdown") && top.stdout.contains("tree"), "\(top.stdout.prefix(400))")
    }
}
