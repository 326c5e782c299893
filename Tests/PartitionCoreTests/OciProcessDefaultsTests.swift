import Foundation
import Glibc
import PartitionModel
import Testing
import WorkloadEngine
@testable import PartitionCore

/// The image config as an application WPAR's defaults, on a scratch image root (no root needed):
/// docker run's rules for Entrypoint, Cmd and arguments, Env under the profile, and User resolved
/// through the image's own /etc/passwd and /etc/group, never through a symlink the image planted.
@Suite struct OciProcessDefaultsTests {
    static func imageRoot(passwd: String?, group: String?) throws -> String {
        let root = NSTemporaryDirectory() + "ptest-oci-defaults-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root + "/etc", withIntermediateDirectories: true)
        if let passwd { try passwd.write(toFile: root + "/etc/passwd", atomically: true, encoding: .utf8) }
        if let group { try group.write(toFile: root + "/etc/group", atomically: true, encoding: .utf8) }
        return root
    }

    static let passwd = "root:x:0:0:root:/root:/bin/sh\n# a comment\nweb:x:33:33:www:/var/www:/bin/sh\n"
    static let group = "root:x:0:\nweb:x:33:\nstaff:x:50:web,other\nlog:x:4:web\n"

    static func defaults(user: String?) -> OciProcessDefaults {
        OciProcessDefaults(entrypoint: ["/entry"], cmd: ["serve", "--port", "80"], env: ["PATH=/app/bin", "A=image"], workdir: "/app", user: user)
    }

    @Test func argumentsReplaceCmdAndKeepEntrypoint() throws {
        let image = Self.defaults(user: nil)
        #expect(try image.command(replacingCmdWith: []) == ["/entry", "serve", "--port", "80"])
        #expect(try image.command(replacingCmdWith: ["check"]) == ["/entry", "check"])
        let bare = OciProcessDefaults(entrypoint: nil, cmd: nil, env: [], workdir: nil, user: nil)
        #expect(throws: PartitionError.self) { try bare.command(replacingCmdWith: []) }
        #expect(try bare.command(replacingCmdWith: ["/bin/true"]) == ["/bin/true"])
    }

    @Test func profileEnvironmentWinsAndGapsAreFilled() {
        let image = Self.defaults(user: nil)
        #expect(image.environment(profile: ["A": "profile", "B": "b"], home: "/var/www") == ["PATH=/app/bin", "A=profile", "B=b", "HOME=/var/www"])
        let bare = OciProcessDefaults(entrypoint: nil, cmd: ["x"], env: [], workdir: nil, user: nil)
        #expect(bare.environment(profile: [:], home: nil) == [OciProcessDefaults.defaultPath, "HOME=/"])
    }

    @Test(arguments: [
        ("web", WorkloadUser(uid: 33, gid: 33, groups: [50, 4]), "/var/www"),
        ("33", WorkloadUser(uid: 33, gid: 33, groups: [50, 4]), "/var/www"),
        ("web:staff", WorkloadUser(uid: 33, gid: 50, groups: []), "/var/www"),
        ("web:7", WorkloadUser(uid: 33, gid: 7, groups: []), "/var/www"),
        ("1234:99", WorkloadUser(uid: 1234, gid: 99, groups: []), nil),
        ("1234", WorkloadUser(uid: 1234, gid: 0, groups: []), nil),
    ])
    func userResolvesThroughTheImagesFiles(spec: String, expected: WorkloadUser, home: String?) throws {
        let root = try Self.imageRoot(passwd: Self.passwd, group: Self.group)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let resolved = try Self.defaults(user: spec).resolveUser(root: root)
        #expect(resolved.user == expected)
        #expect(resolved.home == home)
    }

    @Test(arguments: ["nobody", "web:nogroup", ":", "web:", ":33"])
    func userTheImageLacksIsRefused(spec: String) throws {
        let root = try Self.imageRoot(passwd: Self.passwd, group: Self.group)
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: PartitionError.self) { try Self.defaults(user: spec).resolveUser(root: root) }
    }

    /// An image whose /etc/passwd (or /etc itself) is a symlink to the host's: the host's users are
    /// never read; a named User is then not found.
    @Test func symlinkedAccountFilesAreNotFollowed() throws {
        let root = try Self.imageRoot(passwd: nil, group: nil)
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createSymbolicLink(atPath: root + "/etc/passwd", withDestinationPath: "/etc/passwd")
        #expect(OciProcessDefaults.passwd(root: root) == nil)
        #expect(throws: PartitionError.self) { try Self.defaults(user: "root").resolveUser(root: root) }
        try FileManager.default.removeItem(atPath: root + "/etc/passwd")
        try FileManager.default.removeItem(atPath: root + "/etc")
        try FileManager.default.createSymbolicLink(atPath: root + "/etc", withDestinationPath: "/etc")
        #expect(OciProcessDefaults.passwd(root: root) == nil)
    }
}
