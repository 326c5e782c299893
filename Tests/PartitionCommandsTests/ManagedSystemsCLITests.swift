import Foundation
import Glibc
import PartctlTestSupport
import Testing

/// The registry of managed systems and the verbs that span them, through the real binary and
/// libvirt's in-process test driver: no root, no libvirtd. Every run has its own
/// $PARTCTL_CONFIG_DIR, $PARTCTL_ROOT and runtime root in a temporary directory (never /etc/partctl).
@Suite struct ManagedSystemsCLITests {
    final class Scratch {
        let directory: String
        init() {
            directory = NSTemporaryDirectory() + "ptest-systems-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            for sub in ["", "/config", "/root", "/run"] { mkdir(directory + sub, 0o711) }
        }
        deinit { _ = try? TestProcess.run("/bin/rm", ["-rf", directory]) }

        var environment: [String: String] {
            ["PARTCTL_CONFIG_DIR": directory + "/config", "PARTCTL_ROOT": directory + "/root",
             "PARTCTL_RUNTIME_ROOT": directory + "/run", "PARTCTL_CONNECT": "test:///default", "PARTCTL_SYSTEM_TIMEOUT": "20"]
        }

        func partctl(_ arguments: [String]) throws -> ProcessResult {
            try TestProcess.run(BuiltProducts.partctl, arguments, environment: environment, timeout: 60)
        }

        var registry: String? { try? String(contentsOfFile: directory + "/config/systems.json", encoding: .utf8) }

        /// A test-driver system with one domain, `name`, defined in its own file.
        func testDriverFile(domain name: String) throws -> String {
            let path = directory + "/\(name).xml"
            let xml = """
                <node>
                  <domain type='test'><name>\(name)</name><memory>65536</memory><vcpu>1</vcpu>
                    <os><type>hvm</type></os></domain>
                </node>
                """
            try xml.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
    }

    /// Each refusal: one line naming the problem, exit 2, the registry as it was.
    @Test(arguments: [
        (["system", "add", "Bad/Name", "test:///default"], "not a valid system name"),
        (["system", "add", "local", "test:///default"], "exists already"),
        (["system", "add", "sys2", "not a uri"], "not a libvirt URI"),
        (["system", "add", "sys2", "qemu+ssh://host2/system", "--ssh=-oProxyCommand=touch /tmp/x"], "not an SSH destination"),
        (["system", "add", "sys2", "qemu+ssh://host2/system", "--ssh", "root@host2;reboot"], "not an SSH destination"),
        (["system", "remove", "local"], "cannot be removed"),
        (["system", "remove", "nosuch"], "no managed system named 'nosuch'"),
        (["system", "show", "nosuch"], "no managed system named 'nosuch'"),
    ])
    func refusalsChangeNothing(_ arguments: [String], _ message: String) throws {
        let scratch = Scratch()
        #expect(try scratch.partctl(["system", "add", "sys1", "test:///default"]).status == 0)
        let before = scratch.registry
        let result = try scratch.partctl(arguments)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(message) && result.stderr.split(separator: "\n").count == 1, "\(result)")
        #expect(scratch.registry == before)
    }

    @Test func aTakenNameIsRefused() throws {
        let scratch = Scratch()
        #expect(try scratch.partctl(["system", "add", "sys2", "test:///default"]).status == 0)
        let before = scratch.registry
        let again = try scratch.partctl(["system", "add", "sys2", "qemu+tcp://10.0.0.2/system"])
        #expect(again.status == 2 && again.stderr.contains("exists already"), "\(again)")
        #expect(scratch.registry == before)
        let mode = try FileManager.default.attributesOfItem(atPath: scratch.directory + "/config/systems.json")[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func addListShowRemove() throws {
        let scratch = Scratch()
        let file = try scratch.testDriverFile(domain: "ptest-sys2-dom")
        #expect(try scratch.partctl(["system", "add", "sys2", "test://\(file)", "--ssh", "root@host2"]).status == 0)
        let list = try scratch.partctl(["system", "list", "-F", "name,uri,reachable,lpars,ssh"])
        #expect(list.status == 0, "\(list)")
        #expect(list.stdout == "local,test:///default,yes,1,-\nsys2,test://\(file),yes,1,root@host2\n", "\(list)")
        let table = try scratch.partctl(["system", "list"])
        #expect(table.stdout.hasPrefix("NAME ") && table.stdout.contains("REACHABLE") && table.stdout.contains("libvirt "), "\(table)")
        let json = try scratch.partctl(["system", "show", "sys2", "--json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json)")
        #expect(object["name"] as? String == "sys2" && object["reachable"] as? Bool == true && object["lpars"] as? Int == 1)
        #expect(try scratch.partctl(["system", "remove", "sys2"]).status == 0)
        #expect(try scratch.partctl(["system", "list", "-F", "name"]).stdout == "local\n")
    }

    /// -m naming no system is refused before anything is done.
    @Test func anUnknownSystemIsRefused() throws {
        let scratch = Scratch()
        for arguments in [["tree", "-m", "nosuch"], ["query", "--system", "nosuch"],
                          ["define", "ptest-sys-w", "--profile", "wpar-app", "-m", "nosuch"], ["remove", "test", "-m", "nosuch"]] {
            let result = try scratch.partctl(arguments)
            #expect(result.status == 2 && result.stderr.contains("no managed system named 'nosuch'"), "\(arguments): \(result)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.directory + "/root").filter { $0.hasPrefix("ptest") }.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: scratch.directory + "/config/systems.json"))
    }

    /// A host WPAR of a system partctl reaches by TCP only (no SSH destination) cannot be made
    /// here: one line, exit 2, no definition in this machine's state root.
    @Test func aHostWparOfAnotherSystemWithoutSSHIsRefused() throws {
        let scratch = Scratch()
        #expect(try scratch.partctl(["system", "add", "far", "qemu+tcp://127.0.0.1:1/system"]).status == 0)
        let result = try scratch.partctl(["define", "ptest-sys-w", "--profile", "wpar-app", "-m", "far"])
        #expect(result.status == 2 && result.stderr.contains("SSH"), "\(result)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result)")
        let entries = try FileManager.default.contentsOfDirectory(atPath: scratch.directory + "/root")
        #expect(!entries.contains { $0.contains("ptest-sys-w") }, "\(entries)")
        let wpars = (try? FileManager.default.contentsOfDirectory(atPath: scratch.directory + "/root/wpars")) ?? []
        #expect(wpars.isEmpty, "\(wpars)")
        // The same for what else lives on a system's machine: its port forwards and managed networks.
        for arguments in [["forward", "add", "18080", "lp1:80", "-m", "far"], ["forward", "list", "-m", "far"],
                          ["network", "create", "ptest-sysnet", "--subnet", "10.93.0.0/24", "-m", "far"]] {
            let refused = try scratch.partctl(arguments)
            #expect(refused.status == 2 && refused.stderr.contains("SSH") && refused.stderr.split(separator: "\n").count == 1, "\(arguments): \(refused)")
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.directory + "/root/networks/ptest-sysnet"))
    }

    /// This machine's host WPARs belong to `local` only: with a remote --connect or $PARTCTL_CONNECT,
    /// or under another registered system, they are neither listed nor acted on (on main, `tree
    /// --connect qemu+tcp://...` listed them under the remote system and `remove W -m sys2`
    /// removed this machine's W). Defining a WPAR needs root.
    @Test(.enabled(if: geteuid() == 0, "needs root to define a WPAR")) func thisMachinesHostWparsStayLocal() throws {
        let scratch = Scratch()
        let name = TestNames.unique("sys-w")
        let define = try scratch.partctl(["define", name, "--profile", "wpar-app"])
        try #require(define.status == 0, "\(define)")
        defer { _ = try? scratch.partctl(["remove", name, "--force"]) }
        let file = try scratch.testDriverFile(domain: "ptest-sys2-dom")
        #expect(try scratch.partctl(["system", "add", "sys2", "test://\(file)"]).status == 0)
        func children(_ arguments: [String], environment: [String: String] = [:]) throws -> [String] {
            let result = try TestProcess.run(BuiltProducts.partctl, arguments, environment: scratch.environment.merging(environment) { $1 }, timeout: 60)
            let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
            let roots = (object as? [[String: Any]]) ?? [object as? [String: Any] ?? [:]]
            return roots.flatMap { root in (root["children"] as? [[String: Any]] ?? []).map { "\(root["system"] as? String ?? "-")/\($0["name"] as? String ?? "")" } }
        }
        let remote = "qemu+tcp://127.0.0.1:1/system"
        #expect(try children(["tree", "--json", "--connect", remote]) == [])
        #expect(try children(["tree", "--json"], environment: ["PARTCTL_CONNECT": remote, "PARTCTL_CONFIG_DIR": scratch.directory + "/none"]) == [])
        #expect(try children(["tree", "--json", "-m", "sys2"]) == ["sys2/ptest-sys2-dom"])
        #expect(try children(["tree", "--json"]) == ["local/\(name)", "local/test", "sys2/ptest-sys2-dom"])
        // Not removed through another system: refused (that system has no SSH destination), still defined here.
        let remove = try scratch.partctl(["remove", name, "-m", "sys2"])
        #expect(remove.status == 2 && remove.stderr.contains("SSH"), "\(remove)")
        #expect(try scratch.partctl(["query", name, "-F", "state"]).stdout == "defined\n")
    }

    /// With a second system, `tree` and `query` show both, each from its own root; a system that
    /// refuses the connection is `unavailable` with the reason and the others are whole.
    @Test func treeSpansEverySystem() throws {
        let scratch = Scratch()
        let file = try scratch.testDriverFile(domain: "ptest-sys2-dom")
        #expect(try scratch.partctl(["system", "add", "sys2", "test://\(file)"]).status == 0)
        #expect(try scratch.partctl(["system", "add", "sys3", "qemu+tcp://127.0.0.1:1/system"]).status == 0)

        let tree = try scratch.partctl(["tree", "--json"])
        #expect(tree.status == 0, "\(tree)")
        let roots = try #require(try JSONSerialization.jsonObject(with: Data(tree.stdout.utf8)) as? [[String: Any]], "\(tree)")
        #expect(roots.map { $0["system"] as? String } == ["local", "sys2", "sys3"])
        #expect(roots.allSatisfy { $0["path"] as? String == "/" && $0["kind"] as? String == "system" })
        func children(_ root: [String: Any]) -> [String] { (root["children"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String } }
        #expect(children(roots[0]) == ["test"] && children(roots[1]) == ["ptest-sys2-dom"] && children(roots[2]).isEmpty)
        #expect(roots[0]["state"] as? String == "running" && roots[1]["state"] as? String == "running")
        #expect(roots[2]["state"] as? String == "unavailable" && (roots[2]["note"] as? String ?? "").contains("127.0.0.1:1"), "\(roots[2])")

        // -m gives the same object as the array holds.
        let one = try scratch.partctl(["tree", "--json", "-m", "sys2"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(one.stdout.utf8)) as? [String: Any], "\(one)")
        #expect(object["system"] as? String == "sys2" && children(object) == ["ptest-sys2-dom"])
        #expect(Set(object.keys) == Set(roots[1].keys))

        let query = try scratch.partctl(["query", "-F", "system,path,state"])
        #expect(query.stdout.split(separator: "\n").map(String.init)
                == ["local,/,running", "local,test,running", "sys2,/,running", "sys2,ptest-sys2-dom,running", "sys3,/,unavailable"], "\(query)")

        let text = try scratch.partctl(["tree"])
        #expect(text.status == 0 && text.stdout.contains("sys2 (") && text.stdout.contains("└─ ptest-sys2-dom"), "\(text)")
        #expect(text.stdout.split(separator: "\n").contains { $0.hasPrefix("sys3 ") && $0.contains("unavailable") }, "\(text)")

        // A chosen system keeps tree and query to it.
        #expect(try scratch.partctl(["query", "-F", "path", "-m", "sys2"]).stdout == "/\nptest-sys2-dom\n")
        #expect(try scratch.partctl(["query", "-F", "path", "--connect", "test:///default"]).stdout == "/\ntest\n")
    }
}
