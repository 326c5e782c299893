import CLibvirt
import PartitionModel

/// Byte streams into a domain: its console, and named virtio-serial channels such as partctl's agent.
/// Both need `LibvirtEventLoop.start()` before the connection was opened.
extension LibvirtDomain {
    /// Opens the domain's console, or the console or serial device `devName` (e.g. "serial0"),
    /// taking it over from any other client (virDomainOpenConsole with VIR_DOMAIN_CONSOLE_FORCE).
    public func openConsole(devName: String? = nil) throws(PartitionError) -> LibvirtStream {
        let stream = try LibvirtStream(connection: connection)
        try LibvirtCall.run("virDomainOpenConsole") {
            withOptionalCString(devName) {
                virDomainOpenConsole(pointer, $0, stream.pointer, VIR_DOMAIN_CONSOLE_FORCE.rawValue)
            }
        }
        stream.markOpen()
        return stream
    }

    /// Opens the channel whose target is named `name` (e.g. "org.partctl.agent.0"); with `force`,
    /// taking it over from any other client (VIR_DOMAIN_CHANNEL_FORCE), else failing while another
    /// libvirt client holds it.
    public func openChannel(name: String, force: Bool = true) throws(PartitionError) -> LibvirtStream {
        let stream = try LibvirtStream(connection: connection)
        try LibvirtCall.run("virDomainOpenChannel") {
            virDomainOpenChannel(pointer, name, stream.pointer, force ? VIR_DOMAIN_CHANNEL_FORCE.rawValue : 0)
        }
        stream.markOpen()
        return stream
    }
}
