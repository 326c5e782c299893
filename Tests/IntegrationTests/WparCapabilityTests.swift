import Foundation
import Testing

/// Issue 8, finding 5: capabilities that are root on the host need a user namespace (or a loud
/// `privileged: true`), and no capability passes to another program through the inheritable or
/// ambient sets.
@Suite(.serialized) struct WparCapabilityTests {
    /// Profiles in a directory of their own, removed with it.
    final class ProfileDirectory {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-caps-\(UUID().uuidString)")
        init() throws { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) }
        deinit { try? FileManager.default.removeItem(at: url) }

        func write(_ label: String, _ text: String) throws -> String {
            let file = url.appendingPathComponent("\(label).yaml")
            try text.write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }
    }

    /// The hexadecimal capability sets of /proc/self/status: CapInh, CapPrm, CapEff, CapBnd, CapAmb.
    static func capabilitySets(_ status: String) -> [String: UInt64] {
        var sets: [String: UInt64] = [:]
        for line in status.split(separator: "\n") where line.hasPrefix("Cap") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            sets[String(parts[0])] = UInt64(parts[1].trimmingCharacters(in: .whitespaces), radix: 16)
        }
        return sets
    }

    @Test func rootEquivalentCapabilitiesNeedAUserNamespace() throws {
        let profiles = try ProfileDirectory()
        for capability in ["sys_admin", "dac_read_search", "bpf", "perfmon", "syslog"] {
            let file = try profiles.write(capability, "extends: wpar-app\nuser_namespace: false\ncapabilities: [kill, \(capability)]\n")
            let name = "ptest-caps-\(capability.replacingOccurrences(of: "_", with: "-"))"
            defer { _ = try? CLI.partctl("remove", name, "--force") }
            expectRefusal(try CLI.partctl("define", name, "--profile", file), status: 2, mentioning: [capability, "user namespace"])
            #expect(try CLI.partctl("query", name).status == 2, "\(capability): a definition was left")
            #expect(!FileManager.default.fileExists(atPath: "/var/lib/partctl/wpars/\(name)"), "\(capability): state was left")
            expectRefusal(try CLI.partctl("run", "--profile", file, "--", "/bin/true"), status: 2, mentioning: [capability])
            let check = try CLI.partctl("profile", "check", file)
            #expect(check.status == 2, "profile check accepted \(capability): \(check.stdout)")
        }
        // With a user namespace the capability is scoped to it, and accepted.
        let scoped = try profiles.write("scoped", "extends: wpar-app\nuser_namespace: true\ncapabilities: [kill, sys_admin]\n")
        let check = try CLI.partctl("profile", "check", scoped)
        #expect(check.status == 0, "\(check.stderr)")
        #expect(check.stderr.isEmpty, "a user-namespaced WPAR is not privileged: \(check.stderr)")
    }

    @Test func privilegedIsAcceptedWithAWarning() throws {
        let profiles = try ProfileDirectory()
        let file = try profiles.write("privileged", "extends: wpar-app\nprivileged: true\ncapabilities: [kill, sys_admin]\n")
        let check = try CLI.partctl("profile", "check", file)
        #expect(check.status == 0, "\(check.stderr)")
        let warning = check.stderr.split(separator: "\n")
        #expect(warning.count == 1 && warning[0].contains("warning") && warning[0].contains("sys_admin"), "\(check.stderr)")

        let name = "ptest-caps-privileged"
        _ = try? CLI.partctl("remove", name, "--force")
        defer { _ = try? CLI.partctl("remove", name, "--force") }
        let define = try CLI.partctl("define", name, "--profile", file)
        #expect(define.status == 0, "\(define.stderr)")
        #expect(define.stderr.contains("warning") && define.stderr.contains("sys_admin"), "define gave no warning: \(define.stderr)")
        let run = try CLI.partctl("run", "--profile", file, "--", "/bin/grep", "^CapEff", "/proc/self/status")
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Self.capabilitySets(run.stdout)["CapEff"].map { $0 & (1 << 21) != 0 } == true, "sys_admin not granted: \(run.stdout)")
    }

    /// runc's rule: the inheritable and ambient sets are empty, for a new WPAR and for a login.
    @Test func inheritableAndAmbientSetsAreEmpty() throws {
        let run = try CLI.partctl("run", "--profile", "wpar-app", "--", "/bin/cat", "/proc/self/status")
        #expect(run.status == 0, "\(run.stderr)")
        let sets = Self.capabilitySets(run.stdout)
        #expect(sets["CapInh"] == 0 && sets["CapAmb"] == 0, "run: \(sets)")
        #expect(sets["CapEff"] != 0, "the profile's capabilities are gone too: \(sets)")

        let name = "ptest-caps-login"
        _ = try? CLI.partctl("remove", name, "--force")
        defer { _ = try? CLI.partctl("remove", name, "--force") }
        try #require(CLI.partctl("define", name, "--profile", "wpar-system").status == 0)
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
        let login = try CLI.partctl("login", name, "--", "cat", "/proc/self/status")
        #expect(login.status == 0, "\(login.stderr)")
        let loginSets = Self.capabilitySets(login.stdout)
        #expect(loginSets["CapInh"] == 0 && loginSets["CapAmb"] == 0, "login: \(loginSets)")
        let initStatus = try CLI.partctl("login", name, "--", "cat", "/proc/1/status")
        let initSets = Self.capabilitySets(initStatus.stdout)
        #expect(initSets["CapInh"] == 0 && initSets["CapAmb"] == 0, "init: \(initSets)")
    }

    /// A process that becomes uid 1000 inside keeps no capability in any set.
    @Test func nonRootUserEndsWithoutCapabilities() throws {
        let profiles = try ProfileDirectory()
        let file = try profiles.write("setuid", "extends: wpar-app\ncapabilities: [kill, setuid, setgid, net_bind_service]\n")
        let run = try CLI.partctl("run", "--profile", file, "--", "/usr/bin/setpriv", "--reuid=1000", "--regid=1000",
                                  "--clear-groups", "/bin/cat", "/proc/self/status")
        #expect(run.status == 0, "\(run.stderr)")
        let sets = Self.capabilitySets(run.stdout)
        #expect(run.stdout.contains("Uid:\t1000"), "\(run.stdout)")
        for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
            #expect(sets[set] == 0, "\(set) of uid 1000: \(sets)")
        }
    }
}
