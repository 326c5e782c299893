import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// Every refused profile says, on one line, which file and key are wrong and why.
@Suite struct ProfileValidationTests {
    /// LPAR profiles that must be refused: the YAML, the key path named, and words the message contains.
    static let badLpars: [(String, String, String)] = [
        ("kind: lpar\nmemory: {min: 512MiB, desired: 256MiB, max: 1GiB}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n",
         "memory", "min 512MiB is greater than desired 256MiB."),
        ("kind: lpar\nmemory: {min: 128MiB, desired: 1GiB, max: 512MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n",
         "memory", "desired 1GiB is greater than max 512MiB."),
        ("kind: lpar\nmemory: {desired: 8MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n", "memory.desired", "is below 16MiB"),
        ("kind: lpar\nmemory: {desired: 32TiB}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n", "memory.desired", "above 16TiB"),
        ("kind: lpar\nmemory: {desired: 256MiB, max: 1000.5MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n",
         "memory.max", "not a whole number of MiB"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {min: 0, desired: 1}\nboot: {kernel: /k}\n", "processors.min", "at least 1"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1, max: 300}\nboot: {kernel: /k}\n", "processors.max", "more than 256"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {min: 2, desired: 1, max: 2}\nboot: {kernel: /k}\n",
         "processors", "min 2 is greater than desired 1."),
        (validLpar + "weight: 0\n", "weight", "between 1 and 10000; found 0"),
        (validLpar + "weight: 10001\n", "weight", "found 10001"),
        (validLpar + "weight: heavy\n", "weight", "expected a whole number, found 'heavy'"),
        (validLpar + "cap: 0\n", "cap", "greater than 0"),
        (validLpar + "cap: -1\n", "cap", "greater than 0"),
        (validLpar + "cap: 0.001\n", "cap", "below 0.01 CPUs"),
        (validLpar + "cap: 3\n", "cap", "more than processors.max (2)"),
        (validLpar + "cap: 1e3\n", "cap", "expected a number like 0.5, or none"),
        (validLpar + "accel: kvmm\n", "accel", "did you mean 'kvm'?"),
        (validLpar + "agent: maybe\n", "agent", "expected true or false"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: vmlinuz}\n", "boot.kernel", "not an absolute path"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: /etc/passwd}\n", "boot.kernel", "lies in /etc"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: /proc/kcore}\n", "boot.kernel", "lies in /proc"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k, initrd: /boot/../etc/shadow}\n",
         "boot.initrd", "contains '..'"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {firmware: bios}\n", "boot", "nothing to boot from"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {initrd: /i}\ndisks: [{file: /srv/os.img}]\n",
         "boot.initrd", "needs boot.kernel"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {cmdline: quiet}\ndisks: [{file: /srv/os.img}]\n",
         "boot.cmdline", "needs boot.kernel"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k, cmdline: \"quiet\\ninit=/bin/sh\"}\n",
         "boot.cmdline", "line break"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k, order: [disk]}\ndisks: [{file: /srv/os.img}]\n",
         "boot.order", "boot.kernel is set"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {order: [disk, cdrom]}\ndisks: [{file: /srv/os.img}]\n",
         "boot.order", "no entry of disks has device: cdrom"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {order: [disk, hd]}\ndisks: [{file: /srv/os.img}]\n",
         "boot.order[1]", "expected one of disk, cdrom, network"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /etc/shadow}]\n", "disks[0].file", "lies in /etc"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /dev/sda}]\n", "disks[0].file", "lies in /dev"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /run/x.img}]\n", "disks[0].file", "lies in /run"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /boot/vmlinuz}]\n", "disks[0].file", "lies in /boot"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: os.qcow2}]\n", "disks[0].file", "not an absolute path"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /srv/../etc/shadow}]\n", "disks[0].file", "contains '..'"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /srv/a.img}, {file: /srv/a.img}]\n",
         "disks[1].file", "already disks[0]"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /srv/a.iso, device: cdrom, bus: virtio}]\n",
         "disks[0].bus", "cannot sit on virtio"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{format: raw}]\n", "disks[0].file", "is required"),
        ("kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\ndisks: [{file: /srv/a.img, size: 1G}]\n",
         "disks[0].size", "unknown key"),
        (validLpar + "network: [{network: default, mac: \"52:54:00:zz:00:01\"}]\n", "network[0].mac", "not a MAC address"),
        (validLpar + "network: [{network: default, mac: \"01:00:5e:00:00:01\"}]\n", "network[0].mac", "multicast"),
        (validLpar + "network: [{network: default, mac: \"52:54:00:00:00:01\"}, {bridge: br0, mac: \"52:54:00:00:00:01\"}]\n",
         "network[1].mac", "also the address of network[0]"),
        (validLpar + "network: [{bridge: \"br0; rm -rf /\"}]\n", "network[0].bridge", "only letters, digits"),
        (validLpar + "network: [{bridge: averyveryverylongbridge}]\n", "network[0].bridge", "longer than 15"),
        (validLpar + "network: [{network: \"<x/>\"}]\n", "network[0].network", "only letters, digits"),
        (validLpar + "network: [{network: default, bridge: br0}]\n", "network[0]", "not both"),
        (validLpar + "network: [{model: virtio}]\n", "network[0]", "give network: NAME"),
        (validLpar + "network: [{network: default, model: ne2k}]\n", "network[0].model", "expected one of virtio, e1000, rtl8139"),
        (validLpar + "network: {network: default}\n", "network", "expected a list of adapters"),
        ("kind: lpar\nmemory: {min: 128MiB, desired: 256MiB, max: [1GiB]}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n",
         "memory.max", "expected a size like 512MiB, found a list."),
        ("kind: lpar\nmemory: {desired: 512}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n", "memory.desired", "has no unit"),
        ("kind: lpar\nmemory: 512MiB\nprocessors: {desired: 1}\nboot: {kernel: /k}\n", "memory", "expected a mapping like {min: 128MiB"),
        ("kind: lpar\nprocessors: {desired: 1}\nboot: {kernel: /k}\n", "memory.desired", "is required"),
        ("kind: lpar\nmemory: {min: 128MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n", "memory.desired", "is required"),
        (validLpar + "memroy: {desired: 1GiB}\n", "memroy", "unknown key; did you mean 'memory'?"),
        (validLpar.replacingOccurrences(of: "kernel:", with: "kernal:"), "boot.kernal", "did you mean 'kernel'?"),
        (validLpar + "zzz: 1\n", "zzz", "unknown key; the keys here are kind, extends"),
        (validLpar + "resources: {cpu: {weight: 5}}\n", "resources", "belongs in a profile of kind wpar"),
        ("memory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {kernel: /k}\n", "kind", "is required"),
        (validLpar.replacingOccurrences(of: "kind: lpar", with: "kind: system"), "kind", "expected lpar or wpar"),
        (validLpar + "description: |\n  two\n  lines\n", "description", "one line"),
        // First boot (cloud-init): host name, SSH keys, user_data.
        (validLpar + "hostname: -bad-\n", "hostname", "is not a host name"),
        (validLpar + "hostname: [a]\n", "hostname", "expected a host name"),
        (validLpar + "ssh_authorized_keys: ssh-ed25519 AAAA\n", "ssh_authorized_keys", "a list of OpenSSH public keys"),
        (validLpar + "ssh_authorized_keys: ['AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me']\n",
         "ssh_authorized_keys[0]", "is not an OpenSSH public key"),
        (validLpar + "ssh_authorized_keys: ['ssh-ed25519 not*base64 me']\n", "ssh_authorized_keys[0]", "is not base64"),
        (validLpar + "ssh_authorized_keys: ['ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me']\n",
         "ssh_authorized_keys[0]", "is not a ssh-rsa key"),
        (validLpar + "ssh_authorized_keys: [\"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl a\\nssh-rsa b\"]\n",
         "ssh_authorized_keys[0]", "control character"),
        (validLpar + "user_data: cloud.yaml\n", "user_data", "not an absolute path"),
    ]

    @Test(arguments: badLpars)
    func refusesLpar(_ yaml: String, _ keyPath: String, _ fragment: String) throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", yaml)
        expectProfileError(fixture.failure("ptest-bad"), place: file, keyPath: keyPath, fragment)
    }

    static let badWpars: [(String, String, String)] = [
        (validWpar + "mounts: [{source: /, target: /host}]\n", "mounts[0].source", "whole file system"),
        (validWpar + "mounts: [{source: /proc, target: /p}]\n", "mounts[0].source", "kernel interfaces"),
        (validWpar + "mounts: [{source: /sys/fs/cgroup, target: /cg}]\n", "mounts[0].source", "lies inside /sys"),
        (validWpar + "mounts: [{source: /dev/sda, target: /disk}]\n", "mounts[0].source", "lies inside /dev"),
        (validWpar + "mounts: [{source: /run/libvirt, target: /lv}]\n", "mounts[0].source", "libvirt's among them"),
        (validWpar + "mounts: [{source: /var/run/libvirt/libvirt-sock, target: /sock}]\n", "mounts[0].source", "lies inside /var/run"),
        (validWpar + "mounts: [{source: /var/lib/libvirt, target: /lv}]\n", "mounts[0].source", "libvirt's state"),
        (validWpar + "mounts: [{source: /var, target: /v}]\n", "mounts[0].source", "contains /var/run"),
        (validWpar + "mounts: [{source: /etc/shadow, target: /shadow}]\n", "mounts[0].source", "password hashes"),
        (validWpar + "mounts: [{source: /etc, target: /hostetc}]\n", "mounts[0].source", "contains /etc/shadow"),
        (validWpar + "mounts: [{source: /root/.ssh, target: /k}]\n", "mounts[0].source", "root's home"),
        (validWpar + "mounts: [{source: /var/lib/partctl, target: /p}]\n", "mounts[0].source", "partctl's state"),
        (validWpar + "mounts: [{source: data, target: /data}]\n", "mounts[0].source", "not an absolute path"),
        (validWpar + "mounts: [{source: /srv/../etc, target: /data}]\n", "mounts[0].source", "contains '..'"),
        (validWpar + "mounts: [{source: /srv/data, target: /proc/sys}]\n", "mounts[0].target", "lies in /proc"),
        (validWpar + "mounts: [{source: /srv/data, target: /}]\n", "mounts[0].target", "the WPAR's root"),
        (validWpar + "mounts: [{source: /srv/a, target: /d}, {source: /srv/b, target: /d}]\n", "mounts[1].target", "already the target"),
        (validWpar + "mounts: [{target: /d}]\n", "mounts[0].source", "is required"),
        (validWpar + "resources: {memory: {high: 512MiB, max: 256MiB}}\n", "resources.memory", "high 512MiB is greater than max 256MiB."),
        (validWpar + "resources: {memory: {max: 0B}}\n", "resources.memory.max", "below 1MiB"),
        (validWpar + "resources: {cpu: {weight: 0}}\n", "resources.cpu.weight", "between 1 and 10000; found 0"),
        (validWpar + "resources: {cpu: {weight: 20000}}\n", "resources.cpu.weight", "found 20000"),
        (validWpar + "resources: {cpu: {max: 0}}\n", "resources.cpu.max", "greater than 0"),
        (validWpar + "resources: {cpu: {max: -0.5}}\n", "resources.cpu.max", "greater than 0"),
        (validWpar + "resources: {processes: {max: 0}}\n", "resources.processes.max", "at least 1"),
        (validWpar + "resources: {processes: {max: many}}\n", "resources.processes.max", "expected a whole number or none"),
        (validWpar + "resources: {disk: {max: 1GiB}}\n", "resources.disk.max", "no writable layer on disk"),
        (validWpar + "resources: {disk: {max: 1MiB}}\n", "resources.disk.max", "is below 8MiB"),
        (validWpar + "resources: {disk: {size: 1GiB}}\n", "resources.disk.size", "unknown key"),
        ("kind: wpar\ntype: system\nrootfs: /srv/root\nresources: {disk: {max: 1GiB}}\n", "resources.disk.max", "overlay: true"),
        (validWpar + "capabilities: [net_bind_servic]\n", "capabilities[0]", "did you mean 'net_bind_service'?"),
        (validWpar + "capabilities: [CAP_SYS_MODULE]\n", "capabilities", "'sys_module' acts on the host kernel"),
        (validWpar + "capabilities: [kill, kill]\n", "capabilities", "lists 'kill' twice"),
        ("kind: wpar\ntype: application\ncommand: /bin/sh -c true\n", "command", "no shell splits it"),
        ("kind: wpar\ntype: application\ncommand: [sh]\n", "command[0]", "not an absolute path"),
        ("kind: wpar\ntype: application\ncommand: []\n", "command", "must name a program"),
        ("kind: wpar\ntype: application\n", "command", "is required"),
        ("kind: wpar\ncommand: [/bin/sh]\n", "type", "is required"),
        ("kind: wpar\ntype: container\ncommand: [/bin/sh]\n", "type", "expected one of system, application"),
        (validWpar + "rootfs: /var/lib/partctl/rootfs/busybox\n", "rootfs", "only a system WPAR"),
        (validWpar + "shared: [/usr]\n", "shared", "only a system WPAR"),
        ("kind: wpar\ntype: system\n", "rootfs", "is required"),
        ("kind: wpar\ntype: system\nrootfs: /\n", "rootfs.base", "whole file system"),
        ("kind: wpar\ntype: system\nrootfs: {overlay: true}\n", "rootfs.base", "is required"),
        ("kind: wpar\ntype: system\nrootfs: /srv/root\nshared: [/etc]\n", "shared[0]", "contains /etc/shadow"),
        ("kind: wpar\ntype: system\nrootfs: /srv/root\nshared: [/usr, /usr]\n", "shared[1]", "listed twice"),
        (validWpar + "network: [bridge]\n", "network", "expected none, loopback, a managed network"),
        (validWpar + "network: {bridge: partctl0, address: 10.77.0.2}\n", "network.address", "not an IPv4 address with prefix"),
        (validWpar + "network: {bridge: partctl0, address: 10.77.0.0/24}\n", "network.address", "network's own address"),
        (validWpar + "network: {bridge: partctl0, address: 10.77.0.2/24, gateway: 10.78.0.1}\n", "network.gateway", "outside"),
        (validWpar + "network: {bridge: partctl0, address: 10.77.0.2/24, gateway: 10.77.0.2}\n", "network.gateway", "own address"),
        (validWpar + "network: {bridge: \"br;x\", address: 10.77.0.2/24}\n", "network.bridge", "only letters, digits"),
        (validWpar + "network: {address: 10.77.0.2/24}\n", "network.name", "is required"),
        (validWpar + "hostname: \"bad_host!\"\n", "hostname", "not a host name"),
        (validWpar + "environment: {1BAD: x}\n", "environment.1BAD", "not a variable name"),
        (validWpar + "environment: [A=b]\n", "environment", "expected a mapping of names to values"),
        (validWpar + "workdir: tmp\n", "workdir", "not an absolute path"),
        (validWpar + "user_namespace: sometimes\n", "user_namespace", "expected true or false"),
        (validWpar + "user_namespace: {base: 4294967295}\n", "user_namespace.base", "must lie between 1 and"),
        (validWpar + "user_namespace: {base: 0}\n", "user_namespace.base", "must lie between 1 and"),
        (validWpar + "user_namespace: {first: 100000}\n", "user_namespace.first", "unknown key"),
        (validWpar + "user_namespace: {}\n", "user_namespace.base", "is required"),
        (validWpar + "memory: {desired: 1GiB}\n", "memory", "belongs in a profile of kind lpar"),
    ]

    @Test(arguments: badWpars)
    func refusesWpar(_ yaml: String, _ keyPath: String, _ fragment: String) throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", yaml)
        expectProfileError(fixture.failure("ptest-bad"), place: file, keyPath: keyPath, fragment)
    }

    @Test func networkBootNeedsNoDisk() throws {
        let fixture = try ProfileFixture()
        try fixture.write("ptest-pxe", "kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {order: [network]}\nnetwork: [{network: default}]\n")
        #expect(try fixture.store.resolve("ptest-pxe").lpar?.boot.order == [.network])
        try fixture.write("ptest-pxe", "kind: lpar\nmemory: {desired: 256MiB}\nprocessors: {desired: 1}\nboot: {order: [network]}\n")
        expectProfileError(fixture.failure("ptest-pxe"), place: fixture.path("ptest-pxe.yaml"), keyPath: "boot.order", "no network adapter")
    }

    /// A value's problem points at the line that set it.
    @Test func namesTheLine() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", validLpar + "weight: 0\n")
        expectProfileError(fixture.failure("ptest-bad"), place: "\(file):6:", keyPath: "weight", "found 0")
    }

    @Test func malformedYamlNamesLineAndColumn() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", "kind: lpar\nmemory:\n  min: 128MiB\n desired: 256MiB\n")
        let error = fixture.failure("ptest-bad")
        expectProfileError(error, place: "\(file):4:", keyPath: "", "malformed YAML")
    }

    @Test func unclosedFlowNamesALine() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", "kind: lpar\ndescription: x\nmemory: {min: 1GiB\nweight: 5\n")
        let error = fixture.failure("ptest-bad")
        expectProfileError(error, place: file, keyPath: "", "malformed YAML")
        #expect(error?.message.range(of: #"ptest-bad\.yaml:[45]:\d+: "#, options: .regularExpression) != nil, "\(error?.message ?? "")")
    }

    @Test func duplicateKeysAreRefused() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", validLpar + "weight: 5\nweight: 6\n")
        expectProfileError(fixture.failure("ptest-bad"), place: "\(file):6:", keyPath: "", "'weight' appears more than once")
    }

    @Test(arguments: [("", "is empty"), ("- a\n- b\n", "must be a mapping"), ("kind: lpar\n? [a]\n: b\n", "a key must be a plain name"),
                      ("\u{FEFF}kind: lpar\n\tmemory: 1\n", "malformed YAML")])
    func refusesWhatIsNoProfile(_ yaml: String, _ fragment: String) throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bad", yaml)
        expectProfileError(fixture.failure("ptest-bad"), place: file, keyPath: "", fragment)
    }

    /// Aliases could make a small file into a huge tree; the node limit stops it.
    @Test func aliasBombIsStopped() throws {
        var yaml = "kind: lpar\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...6 {
            yaml += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-bomb", yaml)
        expectProfileError(fixture.failure("ptest-bomb"), place: file, keyPath: "", "more than 20000 values")
    }

    @Test func aFileThatIsNoRegularFileIsRefusedWithoutHanging() throws {
        let fixture = try ProfileFixture()
        let path = fixture.path("ptest-fifo.yaml")
        #expect(mkfifo(path, 0o600) == 0)
        expectProfileError(fixture.failure(path), place: path, keyPath: "", "not a regular file")
    }

    @Test func aHugeFileIsRefused() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-big", validLpar + "description: " + String(repeating: "x", count: 300_000) + "\n")
        expectProfileError(fixture.failure("ptest-big"), place: file, keyPath: "", "at most 262144")
    }

    /// Code that builds profile values itself gets the same checks, without a file.
    @Test func typedValuesValidateThemselves() {
        let lpar = LparProfile(memory: ResourceRange(min: .mebibytes(512), desired: .mebibytes(256), max: .mebibytes(1024)),
                               processors: ResourceRange(min: 1, desired: 1, max: 1), boot: BootSpec(kernel: "/k"))
        #expect(throws: PartitionError(.invalidProfile, "memory: min 512MiB is greater than desired 256MiB.")) { try lpar.validate() }
        let wpar = WparProfile(type: .application, command: ["/bin/sh"],
                               resources: WparResources(memory: WparMemoryLimits(high: .mebibytes(2), max: .mebibytes(1))))
        #expect(throws: PartitionError(.invalidProfile, "resources.memory: high 2MiB is greater than max 1MiB.")) { try wpar.validate() }
    }
}
