import PartitionModel

/// The WPAR keys of a profile (DESIGN §4) and how they decode into a `WparProfile`.
/// Decoding checks shapes and types; `WparProfile.problems()` checks ranges, paths and consistency.
enum ProfileWparDecoding {
    static let keys = ["type", "command", "rootfs", "shared", "resources", "network", "mounts", "hostname",
                       "capabilities", "user_namespace", "environment", "workdir", "privileged", "seccomp", "init", "systemd"]

    static func decode(_ root: ProfileNode, _ reader: ProfileReader, complete: Bool) throws(PartitionError) -> WparProfile? {
        let top = ProfileKeyPath.root
        let type = try reader.choice(root["type"], at: top / "type", WparType.self)
        if type == nil, complete {
            throw reader.missing(top / "type", "write type: system (own root and init) or type: application (one command).")
        }
        let image = try ProfileImageKey.decode(root["image"], reader)
        let command = try decodeCommand(root["command"], type: type, reader, complete: complete, image: image != nil)
        let rootfs = try decodeRootfs(root["rootfs"], reader)
        if type == .system, rootfs == nil, image == nil, complete {
            throw reader.missing(top / "rootfs", "a system WPAR needs its root file system, e.g. rootfs: /var/lib/partctl/rootfs/busybox, or an image: debian-12.")
        }
        let shared = try reader.texts(root["shared"], at: top / "shared", expecting: "a list of host directories like [/usr]",
                                      default: []) ?? []
        let resources = try decodeResources(root["resources"], reader)
        let network = try decodeNetwork(root["network"], reader)
        let mounts = try decodeMounts(root["mounts"], reader)
        let hostname = try reader.text(root["hostname"], at: top / "hostname", expecting: "a host name")
        let capabilities = try decodeCapabilities(root["capabilities"], type: type, reader)
        let (userNamespace, userNamespaceBase) = try decodeUserNamespace(root["user_namespace"], reader)
        let environment = try decodeEnvironment(root["environment"], reader)
        let workdir = reader.orDefault(try reader.text(root["workdir"], at: top / "workdir", expecting: "an absolute path"),
                                       root["workdir"], at: top / "workdir", WparProfile.defaultWorkdir, { $0 })
        let autostart = reader.orDefault(try reader.flag(root["autostart"], at: top / "autostart"), root["autostart"],
                                         at: top / "autostart", false, { String($0) })
        let privileged = reader.orDefault(try reader.flag(root["privileged"], at: top / "privileged"), root["privileged"],
                                          at: top / "privileged", false, { String($0) })
        let seccomp = try ProfileSeccompDecoding.decode(root["seccomp"], reader)
        let minimalInit = try reader.flag(root["init"], at: top / "init")
        if minimalInit == nil, type == .application {
            _ = reader.orDefault(nil, root["init"], at: top / "init", true, { String($0) })
        }
        let systemd = reader.orDefault(try reader.flag(root["systemd"], at: top / "systemd"), root["systemd"],
                                       at: top / "systemd", false, { String($0) })
        guard complete, let type, let command else { return nil }
        return WparProfile(type: type, command: command, rootfs: rootfs, shared: shared, resources: resources,
                           network: network, mounts: mounts, hostname: hostname, capabilities: capabilities,
                           userNamespace: userNamespace, userNamespaceBase: userNamespaceBase,
                           environment: environment, workdir: workdir, autostart: autostart,
                           privileged: privileged, seccomp: seccomp, minimalInit: minimalInit, image: image, systemd: systemd)
    }

    /// `true` (a range of host IDs partctl picks), `false`, or `{base: N}` (the range pinned at N).
    static func decodeUserNamespace(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> (Bool, Int?) {
        let path = ProfileKeyPath.root / "user_namespace"
        guard let node, case .mapping = node.content else {
            return (reader.orDefault(try reader.flag(node, at: path), node, at: path, false, { String($0) }), nil)
        }
        let pinned = try reader.mapping(node, at: path, keys: ["base"],
                                        expecting: "true, false, or a mapping like {base: 1879048192}")!
        reader.record(path, "true", node.origin)
        guard let base = try reader.integer(pinned["base"], at: path / "base") else {
            throw reader.failure(pinned.origin, path / "base", "is required: the host ID that root inside maps to (65536 IDs from there).")
        }
        return (true, base)
    }

    /// An argv list. A single string is refused rather than guessed at: partctl runs no shell unless
    /// the profile names one, so `[/bin/sh, -c, "…"]` says exactly what runs.
    static func decodeCommand(_ node: ProfileNode?, type: WparType?, _ reader: ProfileReader,
                              complete: Bool, image: Bool = false) throws(PartitionError) -> [String]? {
        let path = ProfileKeyPath.root / "command"
        if let node, case .scalar(let text) = node.content {
            throw reader.failure(node.origin, path,
                "expected a list of arguments like [/bin/sh, -c, \"echo hi\"], found \(ProfileRules.quoted(text)); no shell splits it, so write each argument as an item.")
        }
        let command = try reader.texts(node, at: path, expecting: "a list of arguments like [/bin/sh, -c, \"echo hi\"]")
        if command != nil { return command }
        switch type {
        case .system:
            return reader.orDefault(nil, node, at: path, WparProfile.defaultSystemCommand, ProfileReader.render)
        case .application where image:
            // An OCI image's Entrypoint and Cmd (docs/images.md); a command given replaces Cmd.
            return reader.orDefault(nil, node, at: path, [], ProfileReader.render)
        case .application where complete:
            throw reader.missing(path, "an application WPAR runs one command, e.g. command: [/bin/sh], or an image's: image: NAME.")
        default:
            return nil
        }
    }

    /// A directory, or `{base: dir, overlay: true}`.
    static func decodeRootfs(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> WparRootfs? {
        let path = ProfileKeyPath.root / "rootfs"
        guard let node, !node.isNull else { return nil }
        if case .scalar = node.content {
            let base = try reader.text(node, at: path / "base", expecting: "a directory")!
            reader.record(path / "overlay", "false", .builtInDefault)
            return WparRootfs(base: base, overlay: false)
        }
        let rootfs = try reader.mapping(node, at: path, keys: ["base", "overlay"],
                                        expecting: "a directory, or a mapping like {base: /var/lib/partctl/rootfs/busybox, overlay: true}")!
        guard let base = try reader.text(rootfs["base"], at: path / "base", expecting: "a directory") else {
            throw reader.failure(rootfs.origin, path / "base", "is required: the directory that holds the root file system.")
        }
        let overlay = reader.orDefault(try reader.flag(rootfs["overlay"], at: path / "overlay"), rootfs["overlay"],
                                       at: path / "overlay", false, { String($0) })
        return WparRootfs(base: base, overlay: overlay)
    }

    static func decodeResources(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> WparResources {
        let path = ProfileKeyPath.root / "resources"
        let resources = try reader.mapping(node, at: path, keys: ["cpu", "memory", "processes", "disk"],
                                           expecting: "a mapping like {cpu: {weight: 100}, memory: {max: 256MiB}}")
        let cpuPath = path / "cpu"
        let cpu = try reader.mapping(resources?["cpu"], at: cpuPath, keys: ["weight", "max"],
                                     expecting: "a mapping like {weight: 100, max: 0.5}")
        let weight = reader.orDefault(try reader.integer(cpu?["weight"], at: cpuPath / "weight"), cpu?["weight"],
                                      at: cpuPath / "weight", WparProfile.defaultCpuWeight, { String($0) })
        let cpuMax = try reader.number(cpu?["max"], at: cpuPath / "max", orNone: true)
        let memoryPath = path / "memory"
        let memory = try reader.mapping(resources?["memory"], at: memoryPath, keys: ["high", "max"],
                                        expecting: "a mapping like {high: 192MiB, max: 256MiB}")
        let high = try reader.size(memory?["high"], at: memoryPath / "high", orNone: true)
        let memoryMax = try reader.size(memory?["max"], at: memoryPath / "max", orNone: true)
        let processesPath = path / "processes"
        let processes = try reader.mapping(resources?["processes"], at: processesPath, keys: ["max"],
                                           expecting: "a mapping like {max: 256}")
        let pids = try reader.integer(processes?["max"], at: processesPath / "max", orNone: true)
        let diskPath = path / "disk"
        let disk = try reader.mapping(resources?["disk"], at: diskPath, keys: ["max"], expecting: "a mapping like {max: 1GiB}")
        let diskMax = try reader.size(disk?["max"], at: diskPath / "max", orNone: true)
        return WparResources(cpu: WparCpuLimits(weight: weight, max: cpuMax),
                             memory: WparMemoryLimits(high: high, max: memoryMax),
                             processes: WparProcessLimits(max: pids), disk: WparDiskLimits(max: diskMax))
    }

    /// `none`, `loopback`, a managed network's name (`partctl0`), `{name: partctl0, address:
    /// 10.77.0.50}` (a fixed address on it), or `{bridge: br0, address: 10.77.0.2/24, gateway:
    /// 10.77.0.1}` (a host bridge, the address set by hand).
    static func decodeNetwork(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> WparNetwork {
        let path = ProfileKeyPath.root / "network"
        let expecting = "none, loopback, a managed network like partctl0, or a mapping like {name: partctl0, address: 10.77.0.50}"
        guard let node, !node.isNull else {
            reader.record(path, "loopback", node?.origin ?? .builtInDefault)
            return WparProfile.defaultNetwork
        }
        switch node.content {
        case .scalar(let word):
            switch word {
            case "none":
                reader.record(path, word, node.origin)
                return .none
            case "loopback":
                reader.record(path, word, node.origin)
                return .loopback
            default:
                if let problem = ProfileRules.interfaceNameProblem(word, maxLength: 32) {
                    throw reader.failure(node.origin, path, "expected \(expecting); \(problem)")
                }
                reader.record(path, word, node.origin)
                return .managed(WparManagedNetwork(name: word))
            }
        case .mapping:
            if node["bridge"] != nil { return try decodeBridge(node, reader) }
            let managed = try reader.mapping(node, at: path, keys: ["name", "address"], expecting: expecting,
                                             foreign: ["gateway": "belongs to the {bridge, address, gateway} form; a managed network's gateway is the network's own."])!
            guard let name = try reader.text(managed["name"], at: path / "name", expecting: "a managed network's name like partctl0") else {
                throw reader.failure(managed.origin, path / "name", "is required: the managed network, e.g. partctl0 ('partctl network list' lists them); or give bridge: for a host bridge.")
            }
            if let problem = ProfileRules.interfaceNameProblem(name, maxLength: 32) {
                throw reader.failure(managed["name"]!.origin, path / "name", problem)
            }
            let address = try reader.scalar(managed["address"], at: path / "address", expecting: "an IPv4 address like 10.77.0.50",
                                            parse: { IPv4Address($0) },
                                            problem: { "\(ProfileRules.quoted($0)) is not an IPv4 address like 10.77.0.50 (no prefix length: the network's own)." },
                                            render: \.description)
            return .managed(WparManagedNetwork(name: name, address: address))
        case .null, .sequence:
            throw reader.failure(node.origin, path, "expected \(expecting); found \(node.shapeDescription).")
        }
    }

    /// The host bridge form, `{bridge: br0, address: 10.77.0.2/24, gateway: 10.77.0.1}`.
    private static func decodeBridge(_ node: ProfileNode, _ reader: ProfileReader) throws(PartitionError) -> WparNetwork {
        let path = ProfileKeyPath.root / "network"
        let bridge = try reader.mapping(node, at: path, keys: ["bridge", "address", "gateway"],
                                        expecting: "a mapping like {bridge: partctl0, address: 10.77.0.2/24, gateway: 10.77.0.1}",
                                        foreign: ["name": "give name: (a managed network) or bridge: (a host bridge), not both."])!
        guard let name = try reader.text(bridge["bridge"], at: path / "bridge", expecting: "a host bridge name") else {
            throw reader.failure(bridge.origin, path / "bridge", "is required: the host bridge to attach to, e.g. partctl0.")
        }
        guard let address = try reader.text(bridge["address"], at: path / "address", expecting: "an address like 10.77.0.2/24") else {
            throw reader.failure(bridge.origin, path / "address", "is required: the WPAR's address with prefix, e.g. 10.77.0.2/24.")
        }
        let gateway = try reader.text(bridge["gateway"], at: path / "gateway", expecting: "an address like 10.77.0.1")
        return .bridge(WparBridgeNetwork(bridge: name, address: address, gateway: gateway))
    }

    static func decodeMounts(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> [WparMount] {
        let path = ProfileKeyPath.root / "mounts"
        let example = "a mount like {source: /srv/data, target: /data, readonly: true}"
        guard let items = try reader.list(node, at: path, expecting: "a list of mounts like [{source: /srv/data, target: /data}]"),
              !items.isEmpty else {
            reader.record(path, "[]", node?.origin ?? .builtInDefault)
            return []
        }
        var mounts: [WparMount] = []
        for (index, item) in items.enumerated() {
            let itemPath = path[index]
            guard let mount = try reader.mapping(item, at: itemPath, keys: ["source", "target", "readonly"], expecting: example) else {
                throw reader.failure(item.origin, itemPath, "expected \(example), found nothing.")
            }
            guard let source = try reader.text(mount["source"], at: itemPath / "source", expecting: "an absolute path") else {
                throw reader.failure(mount.origin, itemPath / "source", "is required: the host path to mount.")
            }
            let target = reader.orDefault(try reader.text(mount["target"], at: itemPath / "target", expecting: "an absolute path"),
                                          mount["target"], at: itemPath / "target", source, { $0 })
            let readonly = reader.orDefault(try reader.flag(mount["readonly"], at: itemPath / "readonly"), mount["readonly"],
                                            at: itemPath / "readonly", true, { String($0) })
            mounts.append(WparMount(source: source, target: target, readonly: readonly))
        }
        return mounts
    }

    static func decodeCapabilities(_ node: ProfileNode?, type: WparType?,
                                   _ reader: ProfileReader) throws(PartitionError) -> [LinuxCapability] {
        let names = LinuxCapability.allCases.map(\.rawValue)
        let given = try reader.scalars(node, at: ProfileKeyPath.root / "capabilities",
                                       expecting: "a list of capability names like [net_bind_service]",
                                       default: type.map(WparProfile.defaultCapabilities(for:)),
                                       parse: { LinuxCapability(name: $0) },
                                       problem: { text in
                                           let hint = ProfileReader.closest(to: text, among: names).map { "; did you mean '\($0)'?" }
                                           return "\(ProfileRules.quoted(text)) is not a Linux capability\(hint ?? " (see capabilities(7); write them without CAP_).")"
                                       },
                                       render: { $0.rawValue })
        return given ?? []
    }

    static func decodeEnvironment(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> [String: String] {
        let path = ProfileKeyPath.root / "environment"
        guard let node, !node.isNull else {
            reader.record(path, "{}", node?.origin ?? .builtInDefault)
            return [:]
        }
        guard let entries = node.entries else {
            throw reader.failure(node.origin, path, "expected a mapping of names to values like {LANG: C.UTF-8}, found \(node.shapeDescription).")
        }
        if entries.isEmpty { reader.record(path, "{}", node.origin) }
        var environment: [String: String] = [:]
        // `NAME: ~` removes a variable that an extended profile set. Sorted, so that the provenance has
        // one order however the mapping was written or stored.
        for entry in entries.sorted(by: { $0.key < $1.key }) {
            if let value = try reader.text(entry.value, at: path / entry.key, expecting: "text") {
                environment[entry.key] = value
            }
        }
        return environment
    }
}
