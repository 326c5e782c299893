import Glibc
import PartitionModel

/// What `NetworkSetup.attach` made for a WPAR, recorded in its runtime state.
public struct NetworkAttachment: Codable, Sendable, Hashable {
    public var network: WorkloadNetwork
    /// The host side of the veth pair (bridge mode only).
    public var hostInterface: String?

    public init(network: WorkloadNetwork, hostInterface: String? = nil) {
        self.network = network
        self.hostInterface = hostInterface
    }
}

/// The network of a WPAR, set up over rtnetlink (no `ip` subprocesses) once the WPAR's init exists
/// in its own network namespace and before it runs the WPAR's command:
///
/// - `.none`: the fresh namespace as the kernel makes it: no interface is up, not even `lo`, so
///   nothing inside can use the network at all, loopback included.
/// - `.loopback`: `lo` up, so programs inside can talk to each other over 127.0.0.1 and ::1; still
///   nothing outside is reachable.
/// - `.bridge`: `lo` up, plus a veth pair: `pw-<hash>` on the host, enslaved to the named bridge and
///   up, and `eth0` inside with the address and, if given, a default route via the gateway.
///
/// The veth pair lives only as long as the WPAR's namespace: when the last process inside ends,
/// the kernel deletes `eth0` and with it the host side. `cleanup` is for a namespace that outlives
/// the stop (or a half-made attach) and is safe to call at any time.
public enum NetworkSetup {
    /// The name `eth0` has inside every bridged WPAR.
    public static let interfaceName = "eth0"

    /// The host side of a WPAR's veth pair: "pw-" and 12 hex digits of a hash of the name, 15
    /// characters, the most a Linux interface name may have (IFNAMSIZ 16 with the NUL).
    public static func hostInterfaceName(for name: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        let digits = String(hash & 0xffff_ffff_ffff, radix: 16)
        return "pw-" + String(repeating: "0", count: 12 - digits.count) + digits
    }

    /// Sets up `network` for the WPAR `name`, whose init is `childPid`, already in its own network
    /// namespace. On failure nothing made here is left behind.
    public static func attach(_ network: WorkloadNetwork, name: String, childPid: pid_t) throws(PartitionError) -> NetworkAttachment {
        switch network {
        case .none:
            return NetworkAttachment(network: network)
        case .loopback:
            try bringLoopbackUp(inNetnsOf: childPid)
            return NetworkAttachment(network: network)
        case .bridge(let bridge):
            let hostInterface = try attachToBridge(bridge, name: name, childPid: childPid)
            return NetworkAttachment(network: network, hostInterface: hostInterface)
        }
    }

    /// Deletes the host side of the WPAR's veth pair if it exists (the peer goes with it).
    public static func cleanup(name: String) throws(PartitionError) {
        try NetlinkSocket().deleteLink(named: hostInterfaceName(for: name))
    }

    public static func bringLoopbackUp(inNetnsOf pid: pid_t) throws(PartitionError) {
        try NetworkNamespaceSocket.open(inNetnsOf: pid).setLinkUp(named: "lo")
    }

    private static func attachToBridge(_ attachment: BridgeAttachment, name: String, childPid: pid_t) throws(PartitionError) -> String {
        let address = try IPAddressPrefix(cidr: attachment.address)
        let gateway = try attachment.gateway.map { (text) throws(PartitionError) -> IPAddress in
            guard let gateway = IPAddress(text) else {
                throw PartitionError(.invalidArgument, "The gateway '\(text.prefix(60))' is not an IP address.")
            }
            guard gateway.shares(prefix: address.length, with: address.address), gateway != address.address else {
                throw PartitionError(.invalidArgument, "The gateway \(gateway) is not another address in the WPAR's network \(address).")
            }
            return gateway
        }
        try checkInterfaceName(attachment.bridge)

        let host = try NetlinkSocket()
        guard let bridge = try host.link(named: attachment.bridge) else {
            throw PartitionError(.notFound, "The bridge \(attachment.bridge) does not exist; `make setup` creates partctl0, other bridges are made by the administrator.")
        }
        guard bridge.kind == "bridge" else {
            throw PartitionError(.invalidArgument, "The network interface \(attachment.bridge) is not a bridge.")
        }
        // Entering the namespace first also proves it is not the host's.
        let inside = try NetworkNamespaceSocket.open(inNetnsOf: childPid)
        let hostInterface = hostInterfaceName(for: name)
        try host.deleteLink(named: hostInterface)  // left by a killed command whose WPAR namespace lives on
        let mac = try attachment.mac.map { (text) throws(PartitionError) -> [UInt8] in
            guard let bytes = macBytes(text) else {
                throw PartitionError(.invalidArgument, "The MAC address '\(text.prefix(40))' is not a unicast address like 02:00:00:12:34:56.")
            }
            return bytes
        }
        try host.createVethPair(name: hostInterface, master: bridge.index, peerName: interfaceName, peerNamespacePid: childPid,
                                peerAddress: mac)
        do throws(PartitionError) {
            try inside.setLinkUp(named: "lo")
            try inside.setLinkUp(named: interfaceName)
            guard let eth0 = try inside.link(named: interfaceName) else {
                throw PartitionError(.internal, "The interface \(interfaceName) did not appear in the namespace of process \(childPid).")
            }
            try inside.addAddress(address, toLink: eth0.index)
            if let gateway { try inside.addDefaultRoute(via: gateway, link: eth0.index) }
        } catch {
            _ = try? host.deleteLink(named: hostInterface)
            throw error
        }
        return hostInterface
    }

    /// The six bytes of `02:00:00:12:34:56`; nil for anything else, a multicast or all-zero address too.
    static func macBytes(_ text: String) -> [UInt8]? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard part.count == 2, let byte = UInt8(part, radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes[0] & 1 == 0 && bytes.contains(where: { $0 != 0 }) ? bytes : nil
    }

    /// The kernel's rules for interface names (dev_valid_name), checked before any request.
    private static func checkInterfaceName(_ name: String) throws(PartitionError) {
        let bytes = Array(name.utf8)
        let valid = (1...15).contains(bytes.count) && name != "." && name != ".."
            && !bytes.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: ":") || $0 <= 0x20 || $0 >= 0x7f }
        if !valid {
            throw PartitionError(.invalidArgument, "'\(name.prefix(40))' is not a network interface name: 1 to 15 characters, no '/', ':' or spaces.")
        }
    }
}
