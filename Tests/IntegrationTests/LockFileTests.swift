import Foundation
import Testing

/// Lock files belong to partitions that exist: commands on missing names, refused definitions and
/// removals leave none behind in the lock directory (issue 9).
@Suite(.serialized) struct LockFileTests {
    static let directory = (ProcessInfo.processInfo.environment["PARTCTL_RUNTIME_ROOT"] ?? "/run/partctl") + "/locks"

    static func lockFiles() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
    }

    /// Runs `arguments` (expected to fail) and checks that the lock directory gained nothing.
    func expectNoNewLockFile(_ arguments: [String], environment: [String: String] = [:],
                             sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = Self.lockFiles()
        let result = try CLI.run(CLI.partctlPath, arguments, environment: environment)
        #expect(result.status != 0, "\(arguments) succeeded: \(result.stdout)", sourceLocation: sourceLocation)
        let added = Self.lockFiles().subtracting(before)
        #expect(added.isEmpty, "\(arguments.joined(separator: " ")) left \(added.sorted()) in \(Self.directory)",
                sourceLocation: sourceLocation)
    }

    @Test func commandsOnMissingPartitionsLeaveNoLockFile() throws {
        let name = "ptest-lock-nosuch"
        for arguments in [
            ["query", name], ["activate", name], ["shutdown", name], ["force", name], ["restart", name],
            ["remove", name], ["modify", name, "-i", "desired_mem=256MiB"], ["console", name, "--log"],
            ["login", name, "--", "/bin/true"], ["activate", "\(name)/web"], ["remove", "\(name)/web"],
            ["define", "\(name)/web", "--profile", "wpar-app"],
        ] {
            try expectNoNewLockFile(arguments)
        }
    }

    /// With libvirtd unreachable nothing shows the LPAR exists: its lock file goes too.
    @Test func unreachableLibvirtLeavesNoLockFile() throws {
        let unreachable = ["PARTCTL_CONNECT": "qemu+unix:///system?socket=/nonexistent/ptest-lock.sock"]
        try expectNoNewLockFile(["activate", "ptest-lock-down"], environment: unreachable)
        try expectNoNewLockFile(["shutdown", "ptest-lock-down/web"], environment: unreachable)
    }

    @Test func refusedDefinitionsLeaveNoLockFile() throws {
        // Refused inside the lock: more memory than the managed system has.
        try expectNoNewLockFile(["define", "ptest-lock-big", "--profile", "lpar-minimal", "-i", "max_mem=64TiB"])
        try expectNoNewLockFile(["define", "ptest-lock-badw", "--profile", "wpar-app", "-i", "memory_max=nonsense"])
        #expect(!(try CLI.domainNames()).contains("ptest-lock-big"))
    }

    @Test func removedPartitionsLeaveNoLockFile() throws {
        let lpar = "ptest-lock-lpar", wpar = "ptest-lock-wpar"
        defer {
            _ = try? CLI.partctl("remove", wpar, "--force")
            CLI.removeDomain(lpar)
        }
        let before = Self.lockFiles()
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        try #require(CLI.partctl("define", wpar, "--profile", "wpar-system").status == 0)
        // A command on each takes its lock, as every command does.
        #expect(try CLI.partctl("modify", lpar, "-i", "desired_mem=200MiB").status == 0)
        let activate = try CLI.partctl("activate", wpar)
        #expect(activate.status == 0, "\(activate.stderr)")
        let remove = try CLI.partctl("remove", wpar, "--force")
        #expect(remove.status == 0, "\(remove.stderr)")
        let removeLpar = try CLI.partctl("remove", lpar)
        #expect(removeLpar.status == 0, "\(removeLpar.stderr)")
        let added = Self.lockFiles().subtracting(before)
        #expect(added.isEmpty, "removed partitions left \(added.sorted()) in \(Self.directory)")
    }

    static let channelDirectory = (ProcessInfo.processInfo.environment["PARTCTL_RUNTIME_ROOT"] ?? "/run/partctl") + "/agent-channels"

    /// An LPAR whose agent channels were used leaves no channel lock file once removed.
    @Test func removedLparLeavesNoChannelLockFile() throws {
        let lpar = "ptest-lock-chan"
        defer { CLI.removeDomain(lpar) }
        try #require(CLI.partctl("define", lpar, "--profile", "lpar-minimal").status == 0)
        let activate = try CLI.partctl("activate", lpar)
        try #require(activate.status == 0, "\(activate.stderr)")
        // A nested command takes one of its channels (the WPAR need not exist).
        _ = try CLI.partctl("query", "\(lpar)/nosuch")
        let channels = { Set(((try? FileManager.default.contentsOfDirectory(atPath: Self.channelDirectory)) ?? []).filter { $0.hasPrefix(lpar + ".") }) }
        #expect(!channels().isEmpty, "the premise: a nested command left a channel lock file while the LPAR exists")
        let remove = try CLI.partctl("remove", lpar, "--force")
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(channels().isEmpty, "the removed LPAR left \(channels().sorted()) in \(Self.channelDirectory)")
    }
}
