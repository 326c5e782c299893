import PartitionModel

/// The LPAR keys of a profile (DESIGN §4) and how they decode into an `LparProfile`.
/// Decoding checks shapes and types; `LparProfile.problems()` checks ranges and how values fit together.
enum ProfileLparDecoding {
    static let keys = ["memory", "processors", "weight", "cap", "accel", "boot", "network", "disks", "agent", "graphics",
                       "hostname", "ssh_authorized_keys", "user_data"]
    static let bootKeys = ["firmware", "kernel", "initrd", "cmdline", "order"]
    static let adapterKeys = ["network", "bridge", "model", "mac"]
    static let diskKeys = ["file", "format", "bus", "device", "readonly"]
    static let graphicsKeys = ["type", "video", "password_file"]

    /// Decodes `root`. With `complete` false (an abstract profile) missing required values are
    /// allowed and no `LparProfile` is made; everything present is still read and recorded.
    static func decode(_ root: ProfileNode, _ reader: ProfileReader, complete: Bool) throws(PartitionError) -> LparProfile? {
        let top = ProfileKeyPath.root
        let memory = try range(root["memory"], at: top / "memory", reader, complete: complete,
                               example: "{min: 128MiB, desired: 256MiB, max: 512MiB}",
                               read: { node, path throws(PartitionError) in try reader.size(node, at: path) },
                               render: { $0.description })
        let processors = try range(root["processors"], at: top / "processors", reader, complete: complete,
                                   example: "{min: 1, desired: 1, max: 2}",
                                   read: { node, path throws(PartitionError) in try reader.integer(node, at: path) },
                                   render: { String($0) })
        let weight = reader.orDefault(try reader.integer(root["weight"], at: top / "weight"), root["weight"],
                                      at: top / "weight", LparProfile.defaultWeight, { String($0) })
        let cap = try reader.number(root["cap"], at: top / "cap", orNone: true)
        let accel = reader.orDefault(try reader.choice(root["accel"], at: top / "accel", Acceleration.self), root["accel"],
                                     at: top / "accel", .auto, \.rawValue)
        let boot = try decodeBoot(root["boot"], reader)
        let network = try decodeAdapters(root["network"], reader)
        let disks = try decodeDisks(root["disks"], reader)
        let agent = reader.orDefault(try reader.flag(root["agent"], at: top / "agent"), root["agent"],
                                     at: top / "agent", false, { String($0) })
        let autostart = reader.orDefault(try reader.flag(root["autostart"], at: top / "autostart"), root["autostart"],
                                         at: top / "autostart", false, { String($0) })
        let image = try ProfileImageKey.decode(root["image"], reader)
        let graphics = try decodeGraphics(root["graphics"], reader)
        let hostname = try reader.text(root["hostname"], at: top / "hostname", expecting: "a host name")
        let keys = try reader.texts(root["ssh_authorized_keys"], at: top / "ssh_authorized_keys",
                                    expecting: "a list of OpenSSH public keys like ['ssh-ed25519 AAAA... me@host']",
                                    default: []) ?? []
        let userData = try reader.text(root["user_data"], at: top / "user_data",
                                       expecting: "the absolute path of a cloud-config file or script")
        guard complete, let memory, let processors else { return nil }
        return LparProfile(memory: memory, processors: processors, weight: weight, cap: cap, boot: boot,
                           network: network, disks: disks, agent: agent, autostart: autostart, accel: accel,
                           image: image, graphics: graphics, hostname: hostname, sshAuthorizedKeys: keys,
                           userData: userData)
    }

    /// `{min, desired, max}`: desired is required; min and max default to desired.
    static func range<V>(_ node: ProfileNode?, at path: ProfileKeyPath, _ reader: ProfileReader, complete: Bool,
                         example: String, read: (ProfileNode?, ProfileKeyPath) throws(PartitionError) -> V?,
                         render: (V) -> String) throws(PartitionError) -> ResourceRange<V>? {
        let mapping = try reader.mapping(node, at: path, keys: ["min", "desired", "max"], expecting: "a mapping like \(example)")
        let desired = try reader.quietly { () throws(PartitionError) -> V? in try read(mapping?["desired"], path / "desired") }
        guard let desired else {
            // Still read min and max, so their own mistakes are reported and recorded.
            _ = try read(mapping?["min"], path / "min")
            _ = try read(mapping?["max"], path / "max")
            if complete { throw reader.missing(path / "desired", "write e.g. \(path): \(example).") }
            return nil
        }
        let min = reader.orDefault(try read(mapping?["min"], path / "min"), mapping?["min"], at: path / "min", desired, render)
        _ = try read(mapping?["desired"], path / "desired")
        let max = reader.orDefault(try read(mapping?["max"], path / "max"), mapping?["max"], at: path / "max", desired, render)
        return ResourceRange(min: min, desired: desired, max: max)
    }

    static func decodeBoot(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> BootSpec {
        let path = ProfileKeyPath.root / "boot"
        let boot = try reader.mapping(node, at: path, keys: bootKeys,
                                      expecting: "a mapping like {kernel: /path/vmlinuz, cmdline: console=ttyS0}")
        let firmware = reader.orDefault(try reader.choice(boot?["firmware"], at: path / "firmware", Firmware.self),
                                        boot?["firmware"], at: path / "firmware", .bios, \.rawValue)
        let kernel = try reader.text(boot?["kernel"], at: path / "kernel", expecting: "an absolute path")
        let initrd = try reader.text(boot?["initrd"], at: path / "initrd", expecting: "an absolute path")
        let cmdline = try reader.text(boot?["cmdline"], at: path / "cmdline", expecting: "a kernel command line")
        let order = try reader.choices(boot?["order"], at: path / "order", expecting: "a list of boot devices like [disk, cdrom]",
                                       default: [BootDevice]())
        return BootSpec(firmware: firmware, kernel: kernel, initrd: initrd, cmdline: cmdline, order: order)
    }

    static func decodeAdapters(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> [NetworkSpec] {
        let path = ProfileKeyPath.root / "network"
        let example = "an adapter like {network: default} or {bridge: br0}"
        if let node, case .scalar(let name) = node.content {
            // `network: partctl0` (and `-i network=partctl0`): one adapter on that network.
            if let problem = ProfileRules.interfaceNameProblem(name, maxLength: 64) {
                throw reader.failure(node.origin, path, "expected a network's name like partctl0, or a list of adapters like [{network: default}]; \(problem)")
            }
            reader.record(path[0] / "network", name, node.origin)
            reader.record(path[0] / "model", NicModel.virtio.rawValue, .builtInDefault)
            return [NetworkSpec(attachment: .network(name))]
        }
        guard let items = try reader.list(node, at: path, expecting: "a list of adapters like [{network: default}]"),
              !items.isEmpty else {
            reader.record(path, "[]", node?.origin ?? .builtInDefault)
            return []
        }
        var adapters: [NetworkSpec] = []
        for (index, item) in items.enumerated() {
            let itemPath = path[index]
            guard let adapter = try reader.mapping(item, at: itemPath, keys: adapterKeys, expecting: example) else {
                throw reader.failure(item.origin, itemPath, "expected \(example), found nothing.")
            }
            let network = try reader.text(adapter["network"], at: itemPath / "network", expecting: "a libvirt network name")
            let bridge = try reader.text(adapter["bridge"], at: itemPath / "bridge", expecting: "a host bridge name")
            let attachment: NetworkSpec.Attachment
            switch (network, bridge) {
            case (let network?, nil): attachment = .network(network)
            case (nil, let bridge?): attachment = .bridge(bridge)
            case (.some, .some):
                throw reader.failure(adapter.origin, itemPath, "give network: (a libvirt network) or bridge: (a host bridge), not both.")
            case (nil, nil):
                throw reader.failure(adapter.origin, itemPath, "give network: NAME (a libvirt network, e.g. default) or bridge: NAME (a host bridge).")
            }
            let model = reader.orDefault(try reader.choice(adapter["model"], at: itemPath / "model", NicModel.self),
                                         adapter["model"], at: itemPath / "model", .virtio, \.rawValue)
            let mac = try reader.text(adapter["mac"], at: itemPath / "mac", expecting: "a MAC address like 52:54:00:12:34:56")
            adapters.append(NetworkSpec(attachment: attachment, model: model, mac: mac))
        }
        return adapters
    }

    static func decodeDisks(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> [DiskSpec] {
        let path = ProfileKeyPath.root / "disks"
        let example = "a disk like {file: /var/lib/libvirt/images/os.qcow2, format: qcow2}"
        guard let items = try reader.list(node, at: path, expecting: "a list of disks like [{file: /path/os.qcow2}]"),
              !items.isEmpty else {
            reader.record(path, "[]", node?.origin ?? .builtInDefault)
            return []
        }
        var disks: [DiskSpec] = []
        for (index, item) in items.enumerated() {
            let itemPath = path[index]
            guard let disk = try reader.mapping(item, at: itemPath, keys: diskKeys, expecting: example) else {
                throw reader.failure(item.origin, itemPath, "expected \(example), found nothing.")
            }
            guard let file = try reader.text(disk["file"], at: itemPath / "file", expecting: "an absolute path") else {
                throw reader.failure(disk.origin, itemPath / "file", "is required: the image file behind this disk.")
            }
            let device = reader.orDefault(try reader.choice(disk["device"], at: itemPath / "device", DiskDevice.self),
                                          disk["device"], at: itemPath / "device", .disk, \.rawValue)
            let format = reader.orDefault(try reader.choice(disk["format"], at: itemPath / "format", DiskFormat.self),
                                          disk["format"], at: itemPath / "format", .raw, \.rawValue)
            // A cdrom cannot sit on virtio; SATA works with both machine types libvirt offers.
            let bus = reader.orDefault(try reader.choice(disk["bus"], at: itemPath / "bus", DiskBus.self),
                                       disk["bus"], at: itemPath / "bus", device == .cdrom ? .sata : .virtio, \.rawValue)
            let readonly = reader.orDefault(try reader.flag(disk["readonly"], at: itemPath / "readonly"),
                                            disk["readonly"], at: itemPath / "readonly", device == .cdrom, { String($0) })
            disks.append(DiskSpec(file: file, device: device, format: format, bus: bus, readonly: readonly))
        }
        return disks
    }

    /// `graphics: none | vnc | spice`, or `{type: vnc, video: vga, password_file: /etc/partctl/vnc.pass}`.
    static func decodeGraphics(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> GraphicsSpec? {
        let path = ProfileKeyPath.root / "graphics"
        let choices = "none, " + GraphicsKind.allCases.map(\.rawValue).joined(separator: ", ")
        guard let node, case .mapping = node.content else {
            let kind = try reader.scalar(node, at: path, expecting: "one of \(choices), or a mapping like {type: vnc, video: vga}",
                                         orNone: true, parse: { GraphicsKind(rawValue: $0) },
                                         problem: { ProfileReader.choiceProblem($0, ["none"] + GraphicsKind.allCases.map(\.rawValue)) },
                                         render: { $0.rawValue })
            return kind.map { GraphicsSpec(kind: $0) }
        }
        let graphics = try reader.mapping(node, at: path, keys: graphicsKeys, expecting: "a mapping like {type: vnc, video: vga}")
        let kind = try reader.scalar(graphics?["type"], at: path / "type", expecting: "one of \(choices)", orNone: true,
                                     parse: { GraphicsKind(rawValue: $0) },
                                     problem: { ProfileReader.choiceProblem($0, ["none"] + GraphicsKind.allCases.map(\.rawValue)) },
                                     render: { $0.rawValue })
        let video = reader.orDefault(try reader.choice(graphics?["video"], at: path / "video", VideoModel.self),
                                     graphics?["video"], at: path / "video", .vga, \.rawValue)
        let passwordFile = try reader.text(graphics?["password_file"], at: path / "password_file", expecting: "an absolute path")
        guard let kind else {
            if graphics?["video"] != nil || passwordFile != nil {
                throw reader.failure(node.origin, path / "type", "is none, so video and password_file have nothing to apply to; give type: vnc or spice.")
            }
            return nil
        }
        return GraphicsSpec(kind: kind, video: video, passwordFile: passwordFile)
    }
}
