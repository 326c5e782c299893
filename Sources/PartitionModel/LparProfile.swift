/// A floor, the amount granted at activation, and the ceiling for live changes (the HMC's
/// min/desired/max triple).
public struct ResourceRange<Value: Comparable & Sendable & Codable & Hashable>: Sendable, Codable, Hashable {
    public var min: Value
    public var desired: Value
    public var max: Value

    public init(min: Value, desired: Value, max: Value) {
        self.min = min
        self.desired = desired
        self.max = max
    }

    public func contains(_ value: Value) -> Bool { min <= value && value <= max }
}

/// How QEMU runs the guest: KVM when the host has a working one, TCG (software) otherwise.
public enum Acceleration: String, Sendable, Codable, CaseIterable {
    /// KVM where a probe proved it works, TCG otherwise.
    case auto
    case kvm
    case tcg
}

public enum Firmware: String, Sendable, Codable, CaseIterable {
    case bios
    case uefi
}

public enum BootDevice: String, Sendable, Codable, CaseIterable {
    case disk
    case cdrom
    case network
}

/// How an LPAR boots: a kernel given directly (with initrd and command line), or its devices in order.
public struct BootSpec: Sendable, Codable, Hashable {
    public var firmware: Firmware
    public var kernel: String?
    public var initrd: String?
    public var cmdline: String?
    /// Devices to boot from, in order, when no kernel is given.
    public var order: [BootDevice]

    public init(firmware: Firmware = .bios, kernel: String? = nil, initrd: String? = nil,
                cmdline: String? = nil, order: [BootDevice] = []) {
        self.firmware = firmware
        self.kernel = kernel
        self.initrd = initrd
        self.cmdline = cmdline
        self.order = order
    }
}

public enum DiskBus: String, Sendable, Codable, CaseIterable {
    case virtio
    case sata
    case scsi
    case ide
}

public enum DiskDevice: String, Sendable, Codable, CaseIterable {
    case disk
    case cdrom
}

public enum DiskFormat: String, Sendable, Codable, CaseIterable {
    case raw
    case qcow2
}

/// A virtual disk backed by an image file on the managed system.
public struct DiskSpec: Sendable, Codable, Hashable {
    public var file: String
    public var device: DiskDevice
    public var format: DiskFormat
    public var bus: DiskBus
    public var readonly: Bool

    public init(file: String, device: DiskDevice = .disk, format: DiskFormat = .raw,
                bus: DiskBus = .virtio, readonly: Bool = false) {
        self.file = file
        self.device = device
        self.format = format
        self.bus = bus
        self.readonly = readonly
    }
}

public enum NicModel: String, Sendable, Codable, CaseIterable {
    case virtio
    case e1000
    case rtl8139
}

/// A virtual network adapter: attached to a libvirt network, or to a host bridge.
public struct NetworkSpec: Sendable, Codable, Hashable {
    public enum Attachment: Sendable, Codable, Hashable {
        case network(String)
        case bridge(String)
    }
    public var attachment: Attachment
    public var model: NicModel
    /// A fixed MAC address (`52:54:00:xx:xx:xx`); libvirt picks one when absent.
    public var mac: String?

    public init(attachment: Attachment, model: NicModel = .virtio, mac: String? = nil) {
        self.attachment = attachment
        self.model = model
        self.mac = mac
    }
}

/// The resolved attributes of a logical partition (DESIGN §4). Values here have passed validation.
public struct LparProfile: Sendable, Codable, Hashable {
    public var memory: ResourceRange<ByteSize>
    public var processors: ResourceRange<Int>
    /// Share of spare CPU, 1–10000.
    public var weight: Int
    /// Hard ceiling in CPUs (e.g. 0.5); nil = uncapped.
    public var cap: Double?
    public var boot: BootSpec
    public var network: [NetworkSpec]
    public var disks: [DiskSpec]
    /// Attach the partctl agent channel (org.partctl.agent.0).
    public var agent: Bool
    public var autostart: Bool
    public var accel: Acceleration
    /// `image:` an image of the store whose disk the LPAR boots from, on a copy-on-write overlay of
    /// its own (docs/images.md, "LPAR disks"). nil = none.
    public var image: String?

    public static let defaultWeight = 100
    public static let weightRange = 1...10000

    public init(memory: ResourceRange<ByteSize>, processors: ResourceRange<Int>, weight: Int = defaultWeight,
                cap: Double? = nil, boot: BootSpec = BootSpec(), network: [NetworkSpec] = [], disks: [DiskSpec] = [],
                agent: Bool = false, autostart: Bool = false, accel: Acceleration = .auto, image: String? = nil) {
        self.image = image
        self.memory = memory
        self.processors = processors
        self.weight = weight
        self.cap = cap
        self.boot = boot
        self.network = network
        self.disks = disks
        self.agent = agent
        self.autostart = autostart
        self.accel = accel
    }
}
