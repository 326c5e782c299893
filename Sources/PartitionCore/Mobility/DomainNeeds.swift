import PartitionModel

/// What a domain needs from the system it runs on, read from its XML: what `relocate --validate`
/// looks for on the destination. Pure: unit-tested on XML alone.
struct DomainNeeds: Equatable {
    struct Disk: Equatable {
        var target: String
        var device: String
        /// The file behind it; nil for a disk that is not a file (a network or block source).
        var file: String?
        var sourceType: String
        var readOnly: Bool
        var hasBackingFile: Bool
    }

    enum Interface: Equatable {
        case network(String)
        case bridge(String)
        case other(String)
    }

    var virtType: String
    var uuid: String?
    var maxMemoryKiB: UInt64
    var currentMemoryKiB: UInt64
    var maxVcpus: Int
    /// `<cpu mode=...>`, nil when the domain has no `<cpu>` element.
    var cpuMode: String?
    /// The `<cpu>` element as libvirt wrote it (for virConnectCompareCPU).
    var cpuXML: String?
    var kernel: String?
    var initrd: String?
    var disks: [Disk]
    var interfaces: [Interface]

    init(xml: String) throws(PartitionError) {
        let domain = try XMLReader.parse(xml)
        virtType = domain.attribute("type") ?? "qemu"
        uuid = domain.element(named: "uuid")?.text
        func kib(_ element: XMLNode?) -> UInt64 {
            guard let element, let value = UInt64(element.text.filter { !$0.isWhitespace }) else { return 0 }
            switch element.attribute("unit") ?? "KiB" {
            case "b", "bytes": return value / 1024
            case "MiB", "M": return value * 1024
            case "GiB", "G": return value * 1024 * 1024
            default: return value
            }
        }
        maxMemoryKiB = kib(domain.element(named: "memory"))
        currentMemoryKiB = domain.element(named: "currentMemory").map { kib($0) } ?? maxMemoryKiB
        maxVcpus = Int(domain.element(named: "vcpu")?.text.filter { !$0.isWhitespace } ?? "") ?? 1
        let cpu = domain.element(named: "cpu")
        cpuMode = cpu.map { $0.attribute("mode") ?? "custom" }
        cpuXML = cpu?.serialized()
        let os = domain.element(named: "os")
        kernel = os?.element(named: "kernel")?.text
        initrd = os?.element(named: "initrd")?.text
        let devices = domain.element(named: "devices")
        disks = (devices?.elements(named: "disk") ?? []).map { disk in
            let source = disk.element(named: "source")
            let backing = disk.element(named: "backingStore")
            return Disk(target: disk.element(named: "target")?.attribute("dev") ?? "?",
                        device: disk.attribute("device") ?? "disk",
                        file: source?.attribute("file"),
                        sourceType: disk.attribute("type") ?? "file",
                        readOnly: disk.element(named: "readonly") != nil,
                        hasBackingFile: backing.map { $0.element(named: "source") != nil } ?? false)
        }
        interfaces = (devices?.elements(named: "interface") ?? []).map { interface in
            let source = interface.element(named: "source")
            switch interface.attribute("type") {
            case "network": return .network(source?.attribute("network") ?? "")
            case "bridge": return .bridge(source?.attribute("bridge") ?? "")
            case let other: return .other(other ?? "?")
            }
        }
    }

    /// The disks whose contents a move would have to copy (writable ones).
    var writableDisks: [Disk] { disks.filter { !$0.readOnly && $0.device != "cdrom" } }
}
