import AgentProtocol
import LibvirtKit
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// Whether the guest has opened the agent's virtio-serial port, as libvirt reports it in the live
/// domain XML (`<channel><target type='virtio' name='org.partctl.agent.0' state='connected'/>`, from
/// QEMU's VSERPORT_CHANGE events; libvirt raises a lifecycle event only for its own guest agent's
/// channel, so partctl reads the state).
///
/// Why wait for it before the first `sync`: bytes sent while the port is closed wait in the channel
/// and are all delivered when the agent opens it, so a sync repeated during the whole boot leaves a
/// backlog the agent answers one by one (about 25 syncs, 0.15 s under TCG) before the hello.
enum AgentChannelState {
    case connected, disconnected
    /// libvirt does not say (older libvirt or QEMU): the caller syncs as before.
    case unknown

    /// How often the live XML is read while waiting (20 ms): one libvirt call of about a millisecond.
    static let pollMicroseconds: UInt32 = 20_000

    static func current(of domain: LibvirtDomain) throws(PartitionError) -> AgentChannelState {
        let root = try XMLReader.parse(try domain.xmlDesc())
        for channel in root.element(named: "devices")?.elements(named: "channel") ?? [] {
            guard let target = channel.element(named: "target"), target.attribute("type") == "virtio",
                  target.attribute("name") == AgentWire.channelName else { continue }
            switch target.attribute("state") {
            case "connected": return .connected
            case "disconnected": return .disconnected
            default: return .unknown
            }
        }
        return .unknown
    }

    /// Waits until the guest has opened the port, libvirt cannot tell, the domain stopped, or the
    /// deadline passed; the agent handshake that follows reports what is wrong.
    static func waitUntilOpened(_ domain: LibvirtDomain, until deadline: ContinuousClock.Instant) throws(PartitionError) {
        while ContinuousClock.now < deadline {
            guard try domain.isActive(), try current(of: domain) == .disconnected else { return }
            usleep(pollMicroseconds)
        }
    }
}
