import Foundation
import Glibc
import PartctlTestSupport
import Testing

/// Another managed system's host WPARs, reached as users reach them: `ssh DEST partctl ... -m local`
/// through a real sshd. The sshd is the test's own (127.0.0.1, a free port, its own keys and
/// config); its sessions see a "remote machine" of their own: another $PARTCTL_ROOT, runtime root
/// and registry (sshd's SetEnv), so what partctl does there is told apart from this side's.
@Suite(.serialized) struct ManagedSystemsSSHTests {
    static var enabled: Bool { geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") }

    final class Fixture {
        let directory = NSTemporaryDirectory() + "ptest-ssh-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

        deinit {
            if let pid = try? String(contentsOfFile: directory + "/sshd.pid", encoding: .utf8), let number = Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)) {
                kill(number, SIGTERM)
            }
            _ = try? TestProcess.run("/bin/rm", ["-rf", directory])
        }

        func path(_ name: String) -> String { directory + "/" + name }

        /// This side: a registry and state of its own, and partctl's ssh config.
        var local: [String: String] {
            ["PARTCTL_CONFIG_DIR": path("local-config"), "PARTCTL_ROOT": path("local-root"), "PARTCTL_RUNTIME_ROOT": path("local-run"),
             "PARTCTL_CONNECT": "test:///default", "PARTCTL_SSH_CONFIG": path("ssh_config")]
        }

        /// The "remote machine" as its sessions see it.
        var remote: [String: String] {
            ["PARTCTL_CONFIG_DIR": path("remote-config"), "PARTCTL_ROOT": path("remote-root"), "PARTCTL_RUNTIME_ROOT": path("remote-run"),
             "PARTCTL_CONNECT": "test:///default", "PARTCTL_PROFILES": BuiltProducts.packageRoot + "/profiles"]
        }

        func partctl(_ arguments: [String], _ environment: [String: String]) throws -> ProcessResult {
            try TestProcess.run(BuiltProducts.partctl, arguments, environment: environment, timeout: 60)
        }

        /// A port nobody listens on now.
        static func freePort() throws -> Int {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0 }
            }
            try #require(bound)
            return Int(UInt16(bigEndian: address.sin_port))
        }

        static func connects(_ port: Int) -> Bool {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            return withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
            }
        }

        func start() throws {
            for sub in ["", "/local-config", "/local-root", "/local-run", "/remote-config", "/remote-root", "/remote-run"] {
                mkdir(directory + sub, 0o711)
            }
            for key in ["host_key", "client_key"] {
                let made = try TestProcess.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path(key)])
                try #require(made.status == 0, "\(made)")
            }
            try FileManager.default.copyItem(atPath: path("client_key.pub"), toPath: path("authorized_keys"))
            let port = try Self.freePort()
            let bin = URL(fileURLWithPath: BuiltProducts.partctl).deletingLastPathComponent().path
            let setEnv = (["PATH": "\(bin):/usr/sbin:/usr/bin:/sbin:/bin"].merging(remote) { $1 }).sorted { $0.key < $1.key }
                .map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            try """
                Port \(port)
                ListenAddress 127.0.0.1
                HostKey \(path("host_key"))
                PidFile \(path("sshd.pid"))
                AuthorizedKeysFile \(path("authorized_keys"))
                StrictModes no
                PermitRootLogin prohibit-password
                PasswordAuthentication no
                KbdInteractiveAuthentication no
                UsePAM no
                SetEnv \(setEnv)
                """.write(toFile: path("sshd_config"), atomically: true, encoding: .utf8)
            let hostKey = try String(contentsOfFile: path("host_key.pub"), encoding: .utf8)
            try "[127.0.0.1]:\(port) \(hostKey)".write(toFile: path("known_hosts"), atomically: true, encoding: .utf8)
            try """
                Host 127.0.0.1
                  Port \(port)
                  IdentityFile \(path("client_key"))
                  IdentitiesOnly yes
                  UserKnownHostsFile \(path("known_hosts"))
                  StrictHostKeyChecking yes
                """.write(toFile: path("ssh_config"), atomically: true, encoding: .utf8)
            // sshd's privilege separation directory (Debian's service makes it).
            mkdir("/run/sshd", 0o755)
            // sshd daemonizes: a child that closes the descriptors Foundation's Process gave it (sshd
            // does at its start) would hold Process's one monitoring thread in waitpid until it ends.
            let started = try TestProcess.run("/usr/sbin/sshd", ["-f", path("sshd_config"), "-E", path("sshd.log")], timeout: 20)
            try #require(started.status == 0, "\(started)")
            try #require(waitUntil(timeout: 10, interval: 0.05) { Self.connects(port) },
                         "sshd did not listen: \((try? String(contentsOfFile: path("sshd.log"), encoding: .utf8)) ?? "")")
        }
    }

    @Test(.enabled(if: enabled, "needs root and /usr/sbin/sshd (make setup installs openssh-server)"))
    func anotherSystemsHostWparsGoOverSSH() throws {
        let fixture = Fixture()
        try fixture.start()
        let name = TestNames.unique("ssh-w")
        defer { _ = try? fixture.partctl(["remove", name, "--force"], fixture.remote) }
        let node = fixture.path("sys2.xml")
        try """
            <node><domain type='test'><name>ptest-ssh-dom</name><memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain></node>
            """.write(toFile: node, atomically: true, encoding: .utf8)
        #expect(try fixture.partctl(["system", "add", "sys2", "test://\(node)", "--ssh", "root@127.0.0.1"], fixture.local).status == 0)

        // define runs on sys2's machine: its state root has the WPAR, this one has not.
        let define = try fixture.partctl(["define", name, "--profile", "wpar-app", "-m", "sys2"], fixture.local)
        #expect(define.status == 0, "\(define)")
        #expect(try fixture.partctl(["query", name, "-F", "state"], fixture.remote).stdout == "defined\n")
        #expect(try fixture.partctl(["query", name], fixture.local).status == 2)

        // The tree: sys2's LPARs from its libvirt, its host WPAR from partctl there; none under local.
        let tree = try fixture.partctl(["tree", "--json"], fixture.local)
        let roots = try #require(try JSONSerialization.jsonObject(with: Data(tree.stdout.utf8)) as? [[String: Any]], "\(tree)")
        let names = roots.map { root in (root["system"] as? String ?? "-", (root["children"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }) }
        #expect(names.map(\.0) == ["local", "sys2"])
        #expect(names.first { $0.0 == "local" }?.1 == ["test"], "\(tree)")
        #expect(names.first { $0.0 == "sys2" }?.1 == [name, "ptest-ssh-dom"].sorted(), "\(tree)")
        #expect(roots.allSatisfy { $0["note"] is NSNull }, "\(tree)")

        // Verbs on it go there, with the remote command's output and exit status.
        #expect(try fixture.partctl(["query", name, "-F", "path,state", "-m", "sys2"], fixture.local).stdout == "\(name),defined\n")
        let missing = try fixture.partctl(["remove", "ptest-ssh-nosuch", "-m", "sys2"], fixture.local)
        #expect(missing.status == 2 && missing.stderr.contains("ptest-ssh-nosuch"), "\(missing)")
        let remove = try fixture.partctl(["remove", name, "-m", "sys2"], fixture.local)
        #expect(remove.status == 0, "\(remove)")
        #expect(try fixture.partctl(["query", name], fixture.remote).status == 2)
    }
}
