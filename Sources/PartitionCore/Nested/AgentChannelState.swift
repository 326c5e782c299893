import AgentProtocol
import LibvirtKit
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// The agent channels of a running LPAR as libvirt's live domain XML lists them: which of the pool
/// it has (an LPAR defined before the pool has only `org.partctl.agent.0`), the socket each ends
/// at, and whether the guest has opened its port
/// (`<channel><source path=…/><target type='virtio' name='org.partctl.agent.0' state='connected'/>`,
/// from QEMU's VSERPORT_CHANGE events; libvirt raises a lifecycle event only for its own guest
/// agent's channel, so partctl reads the state).
///
/// Why wait for the port before the first `sync`: bytes sent while the port is closed wait in the
/// channel and are all delivered when the agent opens it, so a sync repeated during the whole boot
/// leaves a backlog the agent answers one by one (about 25 syncs, 0.15 s under TCG) before the hello.
struct AgentChannelState: Sendable, Equatable {
    enum Port: Sendable, Equatable {
        case connected, disconnected
        /// libvirt does not say (older libvirt or QEMU): the caller syncs as before.
        case unknown
    }

    var index: Int
    /// The Unix socket QEMU listens on for it, when libvirt names one.
    var socketPath: String?
    var port: Port

    /// How often the live XML is read while waiting (20 ms): one libvirt call of about a millisecond.
    static let pollMicroseconds: UInt32 = 20_000

    /// The LPAR's agent channels, by index.
    static func channels(of domain: LibvirtDomain) throws(PartitionError) -> [AgentChannelState] {
        let root = try XMLReader.parse(try domain.xmlDesc())
        var channels: [AgentChannelState] = []
        for channel in root.element(named: "devices")?.elements(named: "channel") ?? [] {
            guard let target = channel.element(named: "target"), target.attribute("type") == "virtio",
                  let index = target.attribute("name").flatMap(AgentWire.channelIndex) else { continue }
            let port: Port
            switch target.attribute("state") {
            case "connected": port = .connected
            case "disconnected": port = .disconnected
            default: port = .unknown
            }
            channels.append(AgentChannelState(index: index, socketPath: channel.element(named: "source")?.attribute("path"), port: port))
        }
        return channels.sorted { $0.index < $1.index }
    }

    /// Waits until the guest has opened the port of channel `index`, libvirt cannot tell, the
    /// domain stopped, or the deadline passed; the agent handshake that follows reports what is wrong.
    static func waitUntilOpened(_ domain: LibvirtDomain, index: Int, until deadline: ContinuousClock.Instant) throws(PartitionError) {
        while ContinuousClock.now < deadline {
            guard try domain.isActive(), try channels(of: domain).first(where: { $0.index == index })?.port == .disconnected else { return }
            usleep(pollMicroseconds)
        }
    }
}
