import Glibc
import PartitionModel
import SystemKit

/// A managed network on the host: its bridge with the gateway address, IP forwarding for NAT, its
/// dnsmasq, and netcore's nftables chains (docs/networks.md). `root` is the networks directory,
/// `$PARTCTL_ROOT/networks`, as NetworkRegistry's.
public enum NetworkHost {
    /// Brings `network` up, idempotently, and cheaply when all is up (reads of /sys and /proc, the
    /// pid file, one `nft list chain`): the bridge (made when missing), its address and link up,
    /// net.ipv4.ip_forward=1 when NAT, dnsmasq running (restarted when dead: it re-reads its lease
    /// file, so leases are kept), and the chains current. The first call of a boot brings every
    /// managed network up (ensureAllUp): after a reboot, the first use restores them all.
    public static func ensureUp(_ network: ManagedNetwork, root: String) throws(PartitionError) {
        let registry = NetworkRegistry(root: root)
        try registry.ensureRoot()
        if FileIO.readText(bootStampPath(root), limit: 256) != BootID.current() {
            // Another network that cannot come up must not keep this one down: it says so itself.
            do {
                try ensureAllUp(root: root)
                if try registry.network(named: network.name) == network { return }
            } catch {}
        }
        try bringUp(network, registry: registry)
        try NetworkFirewall.apply(firewallNetworks(registry, including: network), root: root)
    }

    /// Brings every managed network up (partctl0 included, written on first use) and applies the
    /// chains whatever was applied before.
    public static func ensureAllUp(root: String) throws(PartitionError) {
        let registry = NetworkRegistry(root: root)
        try registry.ensureRoot()
        let networks = try registry.list()
        var failures: [String] = []
        for network in networks {
            do { try bringUp(network, registry: registry) } catch { failures.append("\(network.name): \(error.message)") }
        }
        try NetworkFirewall.apply(networks, root: root, force: true)
        // The port forwards point into these networks: their chains come back with them.
        try ForwardTable.apply(root: root)
        // Tried once this boot; a network that failed is tried again by its own next use.
        try AtomicFile.write(Array(BootID.current().utf8), to: bootStampPath(root), mode: 0o600, durable: false)
        guard failures.isEmpty else {
            throw PartitionError(.system, "Some managed networks could not be brought up: \(failures.joined(separator: " "))")
        }
    }

    /// The host side of a network that is being removed: its dnsmasq stopped, its bridge deleted,
    /// the chains rendered without it. The caller removes its definition (NetworkRegistry.remove
    /// runs this under its lock).
    public static func tearDown(_ network: ManagedNetwork, root: String) throws(PartitionError) {
        let registry = NetworkRegistry(root: root)
        DnsmasqProcess(directory: registry.directory(of: network.name)).stop()
        if HostNetworkFacts.isBridge(network.bridge) {
            try HostProgram(["ip", "link", "delete", "dev", network.bridge]).check("delete the bridge \(network.bridge)")
        }
        let rest = try registry.list().filter { $0.name != network.name }
        try NetworkFirewall.apply(rest, root: root, force: true)
    }

    /// What `network list` shows: up (bridge up and dnsmasq running) or down, and dnsmasq's pid.
    public struct State: Sendable {
        public var bridgeUp: Bool
        public var dnsmasqPid: pid_t?
        public var isUp: Bool { bridgeUp && dnsmasqPid != nil }
    }

    public static func state(of network: ManagedNetwork, root: String) -> State {
        let directory = NetworkRegistry(root: root).directory(of: network.name)
        return State(bridgeUp: HostNetworkFacts.isBridge(network.bridge) && HostNetworkFacts.isUp(network.bridge),
                     dnsmasqPid: DnsmasqProcess(directory: directory).runningPid())
    }

    // MARK: One network

    private static func bringUp(_ network: ManagedNetwork, registry: NetworkRegistry) throws(PartitionError) {
        let directory = registry.directory(of: network.name)
        try makeDirectory(directory, mode: 0o711)
        try makeDirectory("\(directory)/hosts", mode: 0o755)
        // One command at a time brings this network up: two dnsmasqs must never race for its bridge.
        let lock = try PartitionLock.acquire(path: "\(directory)/.up.lock", wait: true, timeout: 30)
        defer { withExtendedLifetime(lock) {} }
        try ensureBridge(network)
        if network.nat { try ensureForwarding() }
        try ensureDnsmasq(network, directory: directory)
    }

    private static func ensureBridge(_ network: ManagedNetwork) throws(PartitionError) {
        let bridge = network.bridge
        if !HostNetworkFacts.isBridge(bridge) {
            if HostNetworkFacts.interfaceExists(bridge) {
                throw PartitionError(.invalidState, "The network interface \(bridge) of the network '\(network.name)' exists but is not a bridge; remove it or give the network another bridge.")
            }
            try HostProgram(["ip", "link", "add", "name", bridge, "type", "bridge"]).check("create the bridge \(bridge)")
        }
        // The subnet's route on the bridge exists once its address is there and the link is up.
        if HostNetworkFacts.isUp(bridge) && hasRoute(network) { return }
        try HostProgram(["ip", "address", "replace", "\(network.gateway)/\(network.subnet.prefixLength)", "dev", bridge])
            .check("give the bridge \(bridge) the address \(network.gateway)")
        try HostProgram(["ip", "link", "set", "dev", bridge, "up"]).check("bring the bridge \(bridge) up")
    }

    private static func hasRoute(_ network: ManagedNetwork) -> Bool {
        HostNetworkFacts.routes().contains { $0.interface == network.bridge && $0.subnet == network.subnet }
    }

    private static func ensureForwarding() throws(PartitionError) {
        let path = "/proc/sys/net/ipv4/ip_forward"
        if FileIO.readText(path, limit: 16)?.hasPrefix("1") == true { return }
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIX.failure("open \(path)") }
        defer { close(fd) }
        guard FileIO.writeAll(fd, "1\n") else { throw POSIX.failure("turn IP forwarding on (\(path))") }
    }

    private static func ensureDnsmasq(_ network: ManagedNetwork, directory: String) throws(PartitionError) {
        let dnsmasq = DnsmasqProcess(directory: directory)
        let config = DnsmasqConfig.render(network, directory: directory)
        let changed = FileIO.readText(dnsmasq.configPath, limit: 1 << 16) != config
        if changed {
            try AtomicFile.write(Array(config.utf8), to: dnsmasq.configPath, mode: 0o644, durable: false)
        }
        if dnsmasq.runningPid() != nil {
            if !changed { return }
            dnsmasq.stop()
        }
        try dnsmasq.start()
    }

    private static func makeDirectory(_ path: String, mode: mode_t) throws(PartitionError) {
        if mkdir(path, mode) == 0 {
            chmod(path, mode)
        } else if errno != EEXIST {
            throw POSIX.failure("create \(path)")
        }
    }

    /// The networks the chains are rendered from: the registry's, and `network` if it is not
    /// (yet) among them.
    private static func firewallNetworks(_ registry: NetworkRegistry, including network: ManagedNetwork) throws(PartitionError) -> [ManagedNetwork] {
        var networks = try registry.list()
        if !networks.contains(where: { $0.name == network.name }) { networks.append(network) }
        return networks
    }

    static func bootStampPath(_ root: String) -> String { "\(root)/.up.boot" }
}
