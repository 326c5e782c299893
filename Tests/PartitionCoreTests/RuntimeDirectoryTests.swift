import Foundation
import Glibc
import PartitionModel
import Testing
@testable import PartitionCore

/// What PartitionCore keeps under the runtime root (agent channel locks, noted LPAR transitions)
/// is made closed to other users, and so is the root when it is the first to make it (after a
/// reboot, /run is empty): 0700 as RuntimePaths makes it, not 0755.
@Suite struct RuntimeDirectoryTests {
    static func mode(_ path: String) -> mode_t? {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o7777 : nil
    }

    static func scratchRoot() -> String {
        NSTemporaryDirectory() + "ptest-runtime-\(getpid())-\(UInt32.random(in: 0...UInt32.max))/run"
    }

    @Test func agentChannelClaimMakesClosedDirectories() throws {
        let root = Self.scratchRoot()
        defer { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }
        let configuration = PartctlConfiguration(connectURI: "test:///nowhere", stateRoot: root + "/state",
                                                 runtimeRoot: root, environment: [:])
        let claim = try #require(AgentChannelPool.claim(0, of: "ptest-lp", purpose: "a test", configuration: configuration))
        defer { withExtendedLifetime(claim) {} }
        #expect(FileManager.default.fileExists(atPath: root + "/agent-channels/ptest-lp.0"), "no lock file was made")
        #expect(Self.mode(root) == 0o700)
        #expect(Self.mode(root + "/agent-channels") == 0o700)
    }

    @Test func notedTransitionMakesClosedDirectories() throws {
        let root = Self.scratchRoot()
        defer { try? FileManager.default.removeItem(atPath: (root as NSString).deletingLastPathComponent) }
        let transitions = LparTransition(runtimeRoot: root)
        let name = try PartitionName("ptest-lp")
        transitions.note(name, .starting, for: .seconds(30))
        #expect(transitions.current(name) == .starting)
        #expect(Self.mode(root) == 0o700)
        #expect(Self.mode(root + "/lpar-transitions") == 0o700)
    }
}
