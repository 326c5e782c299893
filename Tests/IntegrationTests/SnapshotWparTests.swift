import Foundation
import Testing

/// `partctl snapshot` of a host WPAR (docs/snapshots.md): its writable layer copied frozen, a revert
/// that brings exactly that layer back, bad input refused with nothing changed, and a `kill -9`
/// while the WPAR is frozen cleaned up by the next command.
@Suite(.serialized) struct SnapshotWparTests {
    static let runtimeRoot = WparStateTests.runtimeRoot
    static let stateRoot = WparStateTests.stateRoot

    static func snapshotsDirectory(_ name: String) -> String { "\(stateRoot)/wpars/\(name)/snapshots" }

    /// Whether the WPAR's cgroup2 cgroup reports itself frozen (hybrid: under unified/; pure v2: at the top).
    static func frozen(_ name: String) -> Bool? {
        for base in ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"] {
            if let events = try? String(contentsOfFile: "\(base)/partctl/\(name)/cgroup.events", encoding: .utf8) {
                return events.contains("frozen 1")
            }
        }
        return nil
    }

    static func login(_ name: String, _ script: String) throws -> CLI.Result {
        try CLI.partctl("login", name, "--", "/bin/sh", "-c", script, timeout: 30)
    }

    static func snapshotCount(_ name: String) throws -> Int? {
        let json = try CLI.partctl("query", name, "--json").stdout
        let object = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        return object?["snapshots"] as? Int
    }

    static func start(_ name: String) throws {
        HostWparTests.cleanup(name)
        try #require(CLI.partctl("define", name, "--profile", "wpar-system").status == 0)
        let activate = try CLI.partctl("activate", name)
        try #require(activate.status == 0, "\(activate.stderr)")
    }

    /// Snapshot, change, revert: the change is gone, the WPAR runs again; what the WPAR planted
    /// (a symlink to a host path, a FIFO, a whiteout of a base file, a setuid file) is copied as
    /// itself and never followed.
    @Test func revertBringsTheLayerBack() throws {
        let name = "ptest-snap-wpar"
        try Self.start(name)
        defer { HostWparTests.cleanup(name) }
        let setup = try Self.login(name, "echo before > /etc/marker && ln -s /etc /hostetc && mkfifo /fifo && rm /bin/true && echo x > /suid && chmod 4755 /suid")
        try #require(setup.status == 0, "\(setup.stderr)")
        let create = try CLI.partctl("snapshot", "create", name, "--name", "s1")
        try #require(create.status == 0, "\(create.stderr)")
        #expect(try Self.snapshotCount(name) == 1)

        let layer = "\(Self.snapshotsDirectory(name))/s1/layer"
        let attributes = try FileManager.default.attributesOfItem(atPath: "\(layer)/hostetc")
        #expect(attributes[.type] as? FileAttributeType == .typeSymbolicLink, "a planted symlink must be copied as a link")
        #expect(!FileManager.default.fileExists(atPath: "\(layer)/hostetc/passwd") || (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(layer)/hostetc")) == "/etc")
        var status = stat()
        #expect(lstat("\(layer)/suid", &status) == 0 && status.st_mode & 0o7777 == 0o4755, "mode \(String(status.st_mode, radix: 8))")
        #expect(lstat("\(layer)/bin/true", &status) == 0 && status.st_mode & S_IFMT == S_IFCHR && status.st_rdev == 0, "the whiteout")

        let change = try Self.login(name, "echo after > /etc/marker && echo new > /added && rm /fifo")
        try #require(change.status == 0, "\(change.stderr)")
        let revert = try CLI.partctl("snapshot", "revert", name, "s1")
        try #require(revert.status == 0, "\(revert.stderr)")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")
        let after = try Self.login(name, "cat /etc/marker; test -e /added && echo added; test -p /fifo && echo fifo; test -e /bin/true || echo whiteout")
        #expect(after.stdout == "before\nfifo\nwhiteout\n", "\(after.stdout) \(after.stderr)")

        let list = try CLI.partctl("snapshot", "list", name, "-F", "name,state,content")
        #expect(list.stdout == "s1,running,layer\n")
        #expect(try CLI.partctl("snapshot", "remove", name, "s1").status == 0)
        #expect(try Self.snapshotCount(name) == 0)
    }

    /// A name taken, an unknown name, a bad name: one line, exit 2, nothing changed.
    @Test func badInputChangesNothing() throws {
        let name = "ptest-snap-bad"
        try Self.start(name)
        defer { HostWparTests.cleanup(name) }
        try #require(CLI.partctl("snapshot", "create", name, "--name", "s1").status == 0)
        expectRefusal(try CLI.partctl("snapshot", "create", name, "--name", "s1"), status: 2, mentioning: ["already has a snapshot named s1"])
        expectRefusal(try CLI.partctl("snapshot", "revert", name, "nope"), status: 2, mentioning: ["no snapshot named nope"])
        expectRefusal(try CLI.partctl("snapshot", "remove", name, "nope"), status: 2, mentioning: ["no snapshot named nope"])
        for bad in ["Bad", "../x", "a/b", "", "x y", String(repeating: "a", count: 33)] {
            expectRefusal(try CLI.partctl("snapshot", "create", name, "--name", bad), status: 2, mentioning: ["snapshot name"])
        }
        expectRefusal(try CLI.partctl("snapshot", "revert", name, "../s1"), status: 2, mentioning: ["snapshot name"])
        #expect(try CLI.partctl("snapshot", "list", name, "-F", "name").stdout == "s1\n")
        let entries = try FileManager.default.contentsOfDirectory(atPath: Self.snapshotsDirectory(name))
        #expect(entries == ["s1"], "\(entries)")
        #expect(try CLI.partctl("query", name, "-F", "state").stdout == "running\n")
        // The managed system has no snapshots of its own.
        expectRefusal(try CLI.partctl("snapshot", "create", "/", "--name", "s2"), status: 2, mentioning: ["managed system"])
    }

    /// `kill -9` of partctl while the WPAR is frozen and its copy half made: the next command on
    /// the WPAR (here `snapshot list`) thaws it and removes the partial copy and the journal.
    @Test func killedWhileFrozenIsCleanedUpByTheNextCommand() throws {
        let name = "ptest-snap-kill"
        try Self.start(name)
        defer { HostWparTests.cleanup(name) }
        try #require(try Self.login(name, "echo data > /data").status == 0)
        for point in ["snapshot-frozen", "snapshot-copied"] {
            let killed = try CLI.partctl("snapshot", "create", name, "--name", "k1", environment: ["PARTCTL_TEST_FAULT": point])
            #expect(killed.status != 0 && killed.status != 1 && killed.status != 2, "\(point): not killed: \(killed.status) \(killed.stderr)")
            #expect(Self.frozen(name) == true, "\(point): the test's premise: the WPAR is left frozen")
            #expect(FileManager.default.fileExists(atPath: "\(Self.runtimeRoot)/snapshots/\(name).json"), "\(point): the journal is there")
            if point == "snapshot-copied" {
                #expect(FileManager.default.fileExists(atPath: "\(Self.snapshotsDirectory(name))/.partial-k1/layer/data"), "the partial copy is there")
            }

            let list = try CLI.partctl("snapshot", "list", name, "-F", "name")
            #expect(list.status == 0 && list.stdout.isEmpty, "\(list.stdout) \(list.stderr)")
            #expect(Self.frozen(name) == false, "\(point): the next command thawed it")
            #expect(try FileManager.default.contentsOfDirectory(atPath: Self.snapshotsDirectory(name)).isEmpty, "\(point): partial copy left")
            #expect(!FileManager.default.fileExists(atPath: "\(Self.runtimeRoot)/snapshots/\(name).json"), "\(point): journal left")
            #expect(try Self.login(name, "cat /data").stdout == "data\n")
        }
        let create = try CLI.partctl("snapshot", "create", name, "--name", "k1")
        #expect(create.status == 0, "\(create.stderr)")
        #expect(Self.frozen(name) == false)
    }
}
