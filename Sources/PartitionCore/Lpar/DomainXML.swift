import AgentProtocol
import PartitionModel

/// Builds libvirt domain XML for an LPAR from its resolved profile (DESIGN §4's mapping).
///
/// Everything goes through `XMLNode`, so values are escaped by construction. Only elements listed
/// here can ever be produced: no passthrough (`<qemu:commandline>`, host devices, raw block devices).
public struct DomainXML: Sendable {
    /// libvirt's name for the virtio-serial channel the partctl agent listens on.
    public static let agentChannelName = "org.partctl.agent.0"
    /// Period for the hard CPU cap, in microseconds (CFS default).
    static let capPeriodMicroseconds = 100_000

    public var name: PartitionName
    public var profile: LparProfile
    /// The accelerator this definition runs on; `auto` must be resolved before building.
    public var accelerator: Acceleration
    public var metadata: PartitionMetadata
    /// Where virtlogd keeps the serial console's output, for `console --log`.
    public var consoleLogPath: String
    /// The existing domain's UUID when redefining it; libvirt would otherwise see a second domain of the same name.
    public var uuid: String?
    /// The display's password (from `graphics.password_file`): libvirt keeps it in its root-only
    /// domain file and leaves it out of every XML it shows without VIR_DOMAIN_XML_SECURE.
    public var graphicsPassword: String?
    /// The LPAR's disk from an image (its overlay on the image's base): the first virtio disk, booted from.
    public var systemDisk: LparSystemDisk?
    /// The LPAR's NoCloud seed (first boot data for cloud-init), attached as a read-only cdrom.
    public var seedPath: String?
    /// Adapters (by index in `profile.network`) on one of partctl's managed networks: a bridge
    /// interface on its bridge with the MAC its lease is reserved for.
    public var managedAdapters: [Int: ManagedAdapter] = [:]

    public struct ManagedAdapter: Sendable, Hashable {
        public var bridge: String
        public var mac: String
    }

    public init(name: PartitionName, profile: LparProfile, accelerator: Acceleration,
                metadata: PartitionMetadata, consoleLogPath: String) {
        precondition(accelerator != .auto, "resolve the accelerator before building domain XML")
        self.name = name
        self.profile = profile
        self.accelerator = accelerator
        self.metadata = metadata
        self.consoleLogPath = consoleLogPath
    }

    /// Default location of an LPAR's console log: libvirt's own log directory, which virtlogd may write.
    public static func defaultConsoleLogPath(for name: PartitionName) -> String {
        "/var/log/libvirt/qemu/\(name.rawValue)-console.log"
    }

    /// libvirt `<shares>` for a weight: 100 (the default) maps to the kernel's default 1024.
    public static func shares(forWeight weight: Int) -> Int {
        max(2, weight * 1024 / 100)
    }

    public func document() -> XMLNode {
        var domain = XMLNode("domain", [("type", accelerator == .kvm ? "kvm" : "qemu")])
        domain.append(XMLNode("name", text: name.rawValue))
        if let uuid { domain.append(XMLNode("uuid", text: uuid)) }
        if let description = metadata.description, !description.isEmpty {
            domain.append(XMLNode("description", text: description))
        }
        domain.append(XMLNode("metadata", children: [.element(metadata.element())]))
        domain.append(XMLNode("memory", [("unit", "KiB")], text: String(profile.memory.max.kibibytes)))
        domain.append(XMLNode("currentMemory", [("unit", "KiB")], text: String(profile.memory.desired.kibibytes)))
        domain.append(XMLNode("vcpu", [("placement", "static"), ("current", String(profile.processors.desired))],
                              text: String(profile.processors.max)))
        domain.append(cputune())
        domain.append(os())
        domain.append(XMLNode("features", children: [.element(XMLNode("acpi")), .element(XMLNode("apic"))]))
        if accelerator == .kvm {
            domain.append(XMLNode("cpu", [("mode", "host-passthrough"), ("check", "none")]))
        }
        domain.append(XMLNode("clock", [("offset", "utc")]))
        domain.append(XMLNode("on_poweroff", text: "destroy"))
        domain.append(XMLNode("on_reboot", text: "restart"))
        domain.append(XMLNode("on_crash", text: "destroy"))
        domain.append(devices())
        return domain
    }

    public func serialized() -> String { document().serialized() }

    private func cputune() -> XMLNode {
        var tune = XMLNode("cputune")
        tune.append(XMLNode("shares", text: String(DomainXML.shares(forWeight: profile.weight))))
        if let cap = profile.cap {
            // global_* caps the whole partition; plain <quota> would be per vCPU.
            let quota = max(1000, Int((cap * Double(DomainXML.capPeriodMicroseconds)).rounded()))
            tune.append(XMLNode("global_period", text: String(DomainXML.capPeriodMicroseconds)))
            tune.append(XMLNode("global_quota", text: String(quota)))
        }
        return tune
    }

    private func os() -> XMLNode {
        let boot = profile.boot
        var os = XMLNode("os", boot.firmware == .uefi ? [("firmware", "efi")] : [])
        os.append(XMLNode("type", [("arch", "x86_64"), ("machine", "q35")], text: "hvm"))
        if boot.firmware == .uefi {
            // Plain OVMF: Secure Boot would need SMM and enrolled keys that a user's own OS may lack.
            os.append(XMLNode("firmware", children: [
                .element(XMLNode("feature", [("enabled", "no"), ("name", "secure-boot")])),
            ]))
        }
        if let kernel = boot.kernel {
            os.append(XMLNode("kernel", text: kernel))
            if let initrd = boot.initrd { os.append(XMLNode("initrd", text: initrd)) }
            if let cmdline = boot.cmdline { os.append(XMLNode("cmdline", text: cmdline)) }
        } else {
            // An LPAR from an image boots from its own disk unless the profile orders otherwise.
            if boot.order.isEmpty, systemDisk != nil { os.append(XMLNode("boot", [("dev", "hd")])) }
            for device in boot.order {
                let dev: String
                switch device {
                case .disk: dev = "hd"
                case .cdrom: dev = "cdrom"
                case .network: dev = "network"
                }
                os.append(XMLNode("boot", [("dev", dev)]))
            }
        }
        return os
    }

    private func devices() -> XMLNode {
        var devices = XMLNode("devices")
        var targets = DiskTargetNames()
        if let systemDisk { devices.append(systemDiskElement(systemDisk, target: targets.next(for: .virtio))) }
        for disk in profile.disks {
            devices.append(diskElement(disk, target: targets.next(for: disk.bus)))
        }
        if let seedPath {
            // A SCSI cdrom on virtio-scsi: Debian's cloud kernel has virtio_scsi and sr_mod but no AHCI
            // driver, so a SATA cdrom would be invisible to cloud-init.
            devices.append(XMLNode("controller", [("type", "scsi"), ("index", "0"), ("model", "virtio-scsi")]))
            devices.append(diskElement(DiskSpec(file: seedPath, device: .cdrom, format: .raw, bus: .scsi, readonly: true),
                                       target: targets.next(for: .scsi)))
        }
        for (index, adapter) in profile.network.enumerated() {
            devices.append(interfaceElement(adapter, managed: managedAdapters[index]))
        }
        var serial = XMLNode("serial", [("type", "pty")])
        serial.append(XMLNode("log", [("file", consoleLogPath), ("append", "off")]))
        serial.append(XMLNode("target", [("port", "0")]))
        devices.append(serial)
        devices.append(XMLNode("console", [("type", "pty")], children: [
            .element(XMLNode("target", [("type", "serial"), ("port", "0")])),
        ]))
        if profile.agent {
            // A pool of agent channels: libvirt lets one client hold a channel, so each partctl
            // command takes a free one (docs/nesting.md).
            for index in 0..<AgentWire.channelCount {
                devices.append(XMLNode("channel", [("type", "unix")], children: [
                    .element(XMLNode("source", [("mode", "bind")])),
                    .element(XMLNode("target", [("type", "virtio"), ("name", AgentWire.channelName(index))])),
                ]))
            }
        }
        if let graphics = profile.graphics { graphicsElements(graphics).forEach { devices.append($0) } }
        devices.append(XMLNode("memballoon", [("model", "virtio")], children: [
            .element(XMLNode("stats", [("period", "5")])),
        ]))
        devices.append(XMLNode("rng", [("model", "virtio")], children: [
            .element(XMLNode("backend", [("model", "random")], text: "/dev/urandom")),
        ]))
        return devices
    }

    /// The display on the loopback address only, on a port libvirt picks; its video card; and a
    /// tablet, so that a pointer in the viewer lands where it points.
    private func graphicsElements(_ graphics: GraphicsSpec) -> [XMLNode] {
        var attributes = [("type", graphics.kind.rawValue), ("autoport", "yes"), ("listen", GraphicsSpec.listenAddress)]
        if let graphicsPassword { attributes.append(("passwd", graphicsPassword)) }
        var display = XMLNode("graphics", attributes)
        display.append(XMLNode("listen", [("type", "address"), ("address", GraphicsSpec.listenAddress)]))
        var model = XMLNode("model", [("type", graphics.video.rawValue), ("heads", "1"), ("primary", "yes")])
        if graphics.video != .virtio { model.attributes.insert(("vram", "16384"), at: 1) }
        return [XMLNode("input", [("type", "tablet"), ("bus", "usb")]), display, XMLNode("video", children: [.element(model)])]
    }

    private func diskElement(_ disk: DiskSpec, target: String) -> XMLNode {
        var element = XMLNode("disk", [("type", "file"), ("device", disk.device.rawValue)])
        element.append(XMLNode("driver", [("name", "qemu"), ("type", disk.format.rawValue)]))
        element.append(XMLNode("source", [("file", disk.file)]))
        // Self-contained: QEMU gets backing=null and never opens a backing file named in an image's
        // header, even one written into the image after partctl checked it (profile check refuses them).
        element.append(XMLNode("backingStore"))
        element.append(XMLNode("target", [("dev", target), ("bus", disk.bus.rawValue)]))
        if disk.readonly || disk.device == .cdrom { element.append(XMLNode("readonly")) }
        return element
    }

    /// The overlay with its chain spelled out: the base (read-only to QEMU as every backing file is),
    /// and nothing behind it, so QEMU never follows a backing file named in the base's header.
    private func systemDiskElement(_ disk: LparSystemDisk, target: String) -> XMLNode {
        var element = XMLNode("disk", [("type", "file"), ("device", "disk")])
        element.append(XMLNode("driver", [("name", "qemu"), ("type", "qcow2"), ("discard", "unmap")]))
        element.append(XMLNode("source", [("file", disk.overlayPath)]))
        if let basePath = disk.basePath {
            element.append(XMLNode("backingStore", [("type", "file")], children: [
                .element(XMLNode("format", [("type", disk.baseFormat ?? "qcow2")])),
                .element(XMLNode("source", [("file", basePath)])),
                .element(XMLNode("backingStore")),
            ]))
        } else {
            // A restored, flattened disk: nothing behind it, whatever its header might name.
            element.append(XMLNode("backingStore"))
        }
        element.append(XMLNode("target", [("dev", target), ("bus", "virtio")]))
        return element
    }

    private func interfaceElement(_ adapter: NetworkSpec, managed: ManagedAdapter?) -> XMLNode {
        var element: XMLNode
        switch adapter.attachment {
        case .network where managed != nil:
            element = XMLNode("interface", [("type", "bridge")])
            element.append(XMLNode("source", [("bridge", managed!.bridge)]))
            element.append(XMLNode("mac", [("address", managed!.mac)]))
            element.append(XMLNode("model", [("type", adapter.model.rawValue)]))
            return element
        case .network(let network):
            element = XMLNode("interface", [("type", "network")])
            element.append(XMLNode("source", [("network", network)]))
        case .bridge(let bridge):
            element = XMLNode("interface", [("type", "bridge")])
            element.append(XMLNode("source", [("bridge", bridge)]))
        }
        if let mac = adapter.mac { element.append(XMLNode("mac", [("address", mac)])) }
        element.append(XMLNode("model", [("type", adapter.model.rawValue)]))
        return element
    }
}

/// Guest device names per bus: vda, vdb… for virtio; sda… for SATA/SCSI; hda… for IDE.
struct DiskTargetNames {
    private var used: [String: Int] = [:]

    mutating func next(for bus: DiskBus) -> String {
        let prefix: String
        switch bus {
        case .virtio: prefix = "vd"
        case .sata, .scsi: prefix = "sd"
        case .ide: prefix = "hd"
        }
        let index = used[prefix, default: 0]
        used[prefix] = index + 1
        return prefix + DiskTargetNames.letters(index)
    }

    /// 0 -> a, 25 -> z, 26 -> aa (the kernel's naming).
    static func letters(_ index: Int) -> String {
        var n = index
        var out: [Character] = []
        repeat {
            out.insert(Character(Unicode.Scalar(UInt8(ascii: "a") + UInt8(n % 26))), at: 0)
            n = n / 26 - 1
        } while n >= 0
        return String(out)
    }
}
