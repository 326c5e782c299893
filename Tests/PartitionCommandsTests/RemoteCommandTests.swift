import PartitionModel
import Testing
@testable import PartitionCommands
@testable import PartitionCore

/// How a command for another machine's host WPAR is sent there (`ssh DEST partctl ... -m local`)
/// and how that machine's tree comes back. Pure.
@Suite struct RemoteCommandTests {
    @Test func theSystemOptionsBecomeMinusMLocal() {
        #expect(RemoteCommand.remoteArguments(["activate", "web", "-m", "sys2"]) == ["activate", "web", "-m", "local"])
        #expect(RemoteCommand.remoteArguments(["--system=sys2", "query", "web", "--json"]) == ["query", "web", "--json", "-m", "local"])
        #expect(RemoteCommand.remoteArguments(["define", "web", "-msys2", "--profile", "wpar-app", "--connect", "qemu+ssh://h/system"])
                == ["define", "web", "--profile", "wpar-app", "-m", "local"])
        // What follows -- is the command's own: its -m stays, and -m local goes before it.
        #expect(RemoteCommand.remoteArguments(["login", "web", "-m", "sys2", "--", "ps", "-m", "x"])
                == ["login", "web", "-m", "local", "--", "ps", "-m", "x"])
    }

    @Test func wordsReachTheRemoteShellAsTheyAre() {
        #expect(RemoteCommand.shellQuoted("a b") == "'a b'")
        #expect(RemoteCommand.shellQuoted("it's; rm -rf /") == #"'it'\''s; rm -rf /'"#)
        #expect(RemoteCommand.shellQuoted("") == "''")
        let argv = RemoteCommand.sshArguments(SSHDestination(destination: "root@h2", port: 2222), arguments: ["force", "web", "-m", "s"], terminal: false)
        #expect(argv == ["ssh", "-p", "2222", "--", "root@h2", "partctl", "'force'", "'web'", "'-m'", "'local'"])
    }

    @Test func aQemuSSHURINamesTheDestination() {
        #expect(SSHDestination.of(uri: "qemu+ssh://root@host2/system") == SSHDestination(destination: "root@host2"))
        #expect(SSHDestination.of(uri: "qemu+ssh://host2:2222/system?keyfile=/k") == SSHDestination(destination: "host2", port: 2222))
        #expect(SSHDestination.of(uri: "qemu+tcp://host2/system") == nil)
        #expect(SSHDestination.of(uri: "qemu+ssh:///system") == nil)
        #expect(SSHDestination.of(uri: "qemu+ssh://-oProxyCommand=x/system") == nil)
        #expect(ManagedSystem(name: "s", uri: "qemu+tcp://h/system", ssh: "admin@h").sshDestination == SSHDestination(destination: "admin@h"))
    }

    /// Host WPARs are this machine's only for `local` (or a raw URI) on a daemon here: a remote
    /// PARTCTL_CONNECT or a registered system never lists this machine's.
    @Test func hostWparsAreHereOnlyForThisMachine() {
        func configuration(_ uri: String, system: String?) -> PartctlConfiguration {
            PartctlConfiguration(connectURI: uri, stateRoot: "/nonexistent", runtimeRoot: "/nonexistent", environment: [:], systemName: system)
        }
        #expect(configuration("qemu:///system", system: "local").hostWparReach(system: nil) == .here)
        #expect(configuration("test:///default", system: nil).hostWparReach(system: nil) == .here)
        #expect(configuration("qemu+tcp://10.0.0.2/system", system: nil).hostWparReach(system: nil) == .unreachable(system: nil))
        #expect(configuration("qemu+tcp://10.0.0.2/system", system: "local").hostWparReach(system: nil) == .unreachable(system: "local"))
        #expect(configuration("qemu+ssh://root@h/system", system: nil).hostWparReach(system: nil) == .ssh(SSHDestination(destination: "root@h")))
        let sys2 = ManagedSystem(name: "sys2", uri: "test:///tmp/x.xml")
        #expect(configuration(sys2.uri, system: "sys2").hostWparReach(system: sys2) == .unreachable(system: "sys2"))
        let sys3 = ManagedSystem(name: "sys3", uri: "qemu+tcp://h3/system", ssh: "root@h3")
        #expect(configuration(sys3.uri, system: "sys3").hostWparReach(system: sys3) == .ssh(SSHDestination(destination: "root@h3")))
    }

    /// What `tree --json` prints on the other machine comes back as the same records.
    @Test func anotherMachinesTreeComesBackAsRecords() throws {
        let wpar = PartitionRecord(name: "tools", path: "tools", kind: .wpar, state: .running, type: "system", fields: [
            ("cpu_weight", .int(100)), ("cpu_max", .number(0.5)), ("memory_max", .bytes(128 << 20)), ("pid", .int(4242)),
        ])
        let lpar = PartitionRecord(name: "lp1", path: "lp1", kind: .lpar, state: .defined, fields: [("mem", .bytes(256 << 20))])
        let root = PartitionRecord(name: "host2", path: "/", kind: .system, state: .running, children: [lpar, wpar])
        let records = try RemoteHostWpars.wpars(fromTree: JSONOutput.tree(root), destination: "h2")
        #expect(records.count == 1)
        let back = try #require(records.first)
        #expect(back.name == "tools" && back.state == .running && back.type == "system")
        for key in ["cpu_weight", "cpu_max", "memory_max", "pid"] { #expect(back.field(key) == wpar.field(key), "\(key)") }
        #expect(back.field("memory_max")?.text == "128MiB")
        #expect(throws: PartitionError.self) { try RemoteHostWpars.wpars(fromTree: "partctl: not found", destination: "h2") }
    }
}
