import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// `validateHostPaths()`: what a profile names must exist, be of the right kind, and not lead by a
/// symbolic link where it may not go.
@Suite struct ProfileHostPathTests {
    /// An LPAR profile whose disks are the given files of the fixture.
    func lpar(_ fixture: ProfileFixture, disks: [(String, String)]) throws -> ResolvedProfile {
        let items = disks.map { "  - {file: \(fixture.path($0.0)), format: \($0.1)}" }.joined(separator: "\n")
        try fixture.write("ptest-disks", "kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks:\n\(items)\n")
        return try fixture.store.resolve("ptest-disks")
    }

    func expectHostProblem(_ resolved: ResolvedProfile, place: String, keyPath: String, _ fragment: String,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try resolved.validateHostPaths()
            Issue.record("host paths were accepted", sourceLocation: sourceLocation)
        } catch {
            expectProfileError(error, place: place, keyPath: keyPath, fragment, sourceLocation: sourceLocation)
        }
    }

    static let qcow2Header: [UInt8] = [0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3] + [UInt8](repeating: 0, count: 96)

    @Test func acceptsImagesThatMatchTheirFormat() throws {
        let fixture = try ProfileFixture()
        FileManager.default.createFile(atPath: fixture.path("raw.img"), contents: Data(count: 4096))
        FileManager.default.createFile(atPath: fixture.path("os.qcow2"), contents: Data(Self.qcow2Header))
        try lpar(fixture, disks: [("raw.img", "raw"), ("os.qcow2", "qcow2")]).validateHostPaths()
    }

    @Test func refusesMissingFilesAndNamesTheLine() throws {
        let fixture = try ProfileFixture()
        let resolved = try lpar(fixture, disks: [("missing.img", "raw")])
        expectHostProblem(resolved, place: "\(fixture.path("ptest-disks.yaml")):5:", keyPath: "disks[0].file", "does not exist")
    }

    @Test func refusesDevicesDirectoriesAndLinksIntoSystemDirectories() throws {
        let fixture = try ProfileFixture()
        try FileManager.default.createSymbolicLink(atPath: fixture.path("null.img"), withDestinationPath: "/dev/null")
        try FileManager.default.createSymbolicLink(atPath: fixture.path("passwd.img"), withDestinationPath: "/etc/passwd")
        try FileManager.default.createDirectory(atPath: fixture.path("dir.img"), withIntermediateDirectories: false)
        expectHostProblem(try lpar(fixture, disks: [("null.img", "raw")]), place: fixture.directory, keyPath: "disks[0].file", "is a device")
        expectHostProblem(try lpar(fixture, disks: [("passwd.img", "raw")]), place: fixture.directory, keyPath: "disks[0].file",
                          "leads to '/etc/passwd', which lies in /etc")
        expectHostProblem(try lpar(fixture, disks: [("dir.img", "raw")]), place: fixture.directory, keyPath: "disks[0].file", "is a directory")
    }

    @Test func checksImageFormats() throws {
        let fixture = try ProfileFixture()
        FileManager.default.createFile(atPath: fixture.path("os.qcow2"), contents: Data(Self.qcow2Header))
        FileManager.default.createFile(atPath: fixture.path("raw.img"), contents: Data(count: 512))
        var backed = Self.qcow2Header
        backed[15] = 104 // backing_file_offset: a backing file name follows the header
        FileManager.default.createFile(atPath: fixture.path("backed.qcow2"), contents: Data(backed))
        expectHostProblem(try lpar(fixture, disks: [("os.qcow2", "raw")]), place: fixture.directory, keyPath: "disks[0].file",
                          "is a qcow2 image; set format: qcow2")
        expectHostProblem(try lpar(fixture, disks: [("raw.img", "qcow2")]), place: fixture.directory, keyPath: "disks[0].file",
                          "is not a qcow2 image")
        expectHostProblem(try lpar(fixture, disks: [("backed.qcow2", "qcow2")]), place: fixture.directory, keyPath: "disks[0].file",
                          "has a backing file")
    }

    @Test func checksTheKernel() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-kernel", "kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: \(fixture.path("vmlinuz"))}\n")
        let resolved = try fixture.store.resolve("ptest-kernel")
        expectHostProblem(resolved, place: fixture.directory, keyPath: "boot.kernel", "does not exist")
        FileManager.default.createFile(atPath: fixture.path("vmlinuz"), contents: Data(count: 64))
        try resolved.validateHostPaths()
    }

    /// A FIFO put where the image was, after the kind was checked: the header read must not block
    /// (it did: FileHandle opened it for reading and waited for a writer).
    @Test func imageHeaderReadDoesNotBlockOnAFifo() throws {
        let fixture = try ProfileFixture()
        #expect(mkfifo(fixture.path("swapped.img"), 0o600) == 0)
        #expect(ProfileHostPath.imageFormatProblem(fixture.path("swapped.img"), format: .raw)?.contains("not a regular file") == true)
    }

    @Test func checksWparSourcesAndRootfs() throws {
        let fixture = try ProfileFixture()
        try FileManager.default.createSymbolicLink(atPath: fixture.path("shadow"), withDestinationPath: "/etc/shadow")
        #expect(mkfifo(fixture.path("fifo"), 0o600) == 0)
        try FileManager.default.createDirectory(atPath: fixture.path("data"), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(atPath: fixture.path("root/bin"), withIntermediateDirectories: true)

        func wpar(_ body: String) throws -> ResolvedProfile {
            try fixture.write("ptest-w", body)
            return try fixture.store.resolve("ptest-w")
        }
        try wpar(validWpar + "mounts: [{source: \(fixture.path("data")), target: /data}]\n").validateHostPaths()
        expectHostProblem(try wpar(validWpar + "mounts: [{source: \(fixture.path("shadow")), target: /s}]\n"),
                          place: fixture.directory, keyPath: "mounts[0].source", "leads through a symbolic link: '/etc/shadow' holds password hashes")
        expectHostProblem(try wpar(validWpar + "mounts: [{source: \(fixture.path("fifo")), target: /f}]\n"),
                          place: fixture.directory, keyPath: "mounts[0].source", "device, socket or FIFO")
        expectHostProblem(try wpar("kind: wpar\ntype: application\ncommand: [\(fixture.path("data"))]\n"),
                          place: fixture.directory, keyPath: "command[0]", "not an executable file")

        let system = "kind: wpar\ntype: system\nrootfs: \(fixture.path("root"))\ncommand: [/bin/init]\n"
        expectHostProblem(try wpar(system), place: fixture.directory, keyPath: "command[0]", "does not exist in the root file system")
        FileManager.default.createFile(atPath: fixture.path("root/bin/init"), contents: Data())
        try wpar(system).validateHostPaths()
        expectHostProblem(try wpar(system.replacingOccurrences(of: "/root\n", with: "/missing\n")),
                          place: fixture.directory, keyPath: "rootfs.base", "does not exist")
    }
}
