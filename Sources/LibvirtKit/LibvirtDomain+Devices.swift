import CLibvirt
import PartitionModel

extension LibvirtDomain {
    /// Adds a device described by `xml` to the running domain (`live`) and/or its persistent
    /// definition (`config`) (virDomainAttachDeviceFlags).
    public func attachDevice(_ xml: String, live: Bool, config: Bool) throws(PartitionError) {
        let flags = modificationFlags(live: live, config: config)
        try LibvirtCall.run("virDomainAttachDeviceFlags") { virDomainAttachDeviceFlags(pointer, xml, flags) }
    }

    /// Removes the device `xml` describes (virDomainDetachDeviceFlags). A live removal that needs
    /// the guest's cooperation (PCI hot-unplug) may still be under way when this returns.
    public func detachDevice(_ xml: String, live: Bool, config: Bool) throws(PartitionError) {
        let flags = modificationFlags(live: live, config: config)
        try LibvirtCall.run("virDomainDetachDeviceFlags") { virDomainDetachDeviceFlags(pointer, xml, flags) }
    }
}
