import AgentProtocol
import Glibc
import PartitionModel
import Synchronization
import SystemKit

/// The guest's own network (`Agent.GuestNetwork`): bridge partctl0 with 10.78.0.1/24, forwarding
/// on, and table `ip partctl` of nftables with the chains this agent owns: `guest_postrouting`
/// (masquerade of 10.78.0.0/24 leaving by any other interface) and `guest_prerouting` (the guest
/// side of the host's forwards to nested WPARs). Made on first need, never at boot: its modules
/// and the nft process cost a TCG guest about a second. Every step is idempotent.
enum GuestNetworkSetup {
    /// Shipped in the image (guest/modules-network.list) and loaded here, dependencies by modprobe.
    static let modules = ["bridge", "veth", "nf_tables", "nft_chain_nat", "nft_nat", "nft_masq", "nft_ct"]
    /// Whether this agent process has made the network (a restarted agent checks again, cheaply).
    private static let made = Mutex(false)

    /// Makes the network unless this agent made it already.
    static func ensure() throws(PartitionError) {
        try made.withLock { (made: inout Bool) throws(PartitionError) in
            // A bridge deleted by hand in the guest is made again.
            guard !made || access("/sys/class/net/\(Agent.GuestNetwork.bridge)", F_OK) != 0 else { return }
            try loadModules()
            try makeBridge()
            try write("1\n", to: "/proc/sys/net/ipv4/ip_forward")
            try apply(postroutingScript(), what: "set up NAT for \(Agent.GuestNetwork.name)")
            made = true
        }
    }

    /// Re-renders `guest_prerouting` with exactly these forwards (all of them valid, see
    /// `Agent.NetworkForwards.problem(of:)`).
    static func publish(_ forwards: [Agent.NetworkForwards.Forward]) throws(PartitionError) {
        if let problem = Agent.NetworkForwards.problem(of: forwards) {
            throw PartitionError(.invalidArgument, problem)
        }
        try ensure()
        try apply(preroutingScript(forwards), what: "set the forwards of \(Agent.GuestNetwork.name)")
    }

    static func postroutingScript() -> String {
        let network = Agent.GuestNetwork.self
        return """
            add table ip partctl
            add chain ip partctl guest_postrouting { type nat hook postrouting priority srcnat; policy accept; }
            flush chain ip partctl guest_postrouting
            add rule ip partctl guest_postrouting ip saddr \(network.subnet) oifname != "\(network.bridge)" masquerade

            """
    }

    static func preroutingScript(_ forwards: [Agent.NetworkForwards.Forward]) -> String {
        var script = """
            add table ip partctl
            add chain ip partctl guest_prerouting { type nat hook prerouting priority dstnat; policy accept; }
            flush chain ip partctl guest_prerouting

            """
        for forward in forwards {
            script += "add rule ip partctl guest_prerouting iifname != \"\(Agent.GuestNetwork.bridge)\" "
                + "\(forward.proto) dport \(forward.port) dnat to \(forward.address):\(forward.targetPort)\n"
        }
        return script
    }

    private static func loadModules() throws(PartitionError) {
        let missing = modules.filter { access("/sys/module/\($0)", F_OK) != 0 }
        guard !missing.isEmpty else { return }
        try HostProgram(["modprobe", "-a"] + missing).check("load the modules of the guest network (\(missing.joined(separator: ", ")))")
    }

    private static func makeBridge() throws(PartitionError) {
        let bridge = Agent.GuestNetwork.bridge
        if access("/sys/class/net/\(bridge)", F_OK) != 0 {
            try HostProgram(["ip", "link", "add", bridge, "type", "bridge"]).check("create the bridge \(bridge)")
        }
        let gateway = "\(Agent.GuestNetwork.gateway)/\(Agent.GuestNetwork.subnet.prefixLength)"
        let shown = try HostProgram(["ip", "-4", "addr", "show", "dev", bridge]).run()
        if !shown.output.contains("inet \(gateway) ") {
            try HostProgram(["ip", "addr", "add", gateway, "dev", bridge]).check("give \(bridge) the address \(gateway)")
        }
        try HostProgram(["ip", "link", "set", bridge, "up"]).check("bring \(bridge) up")
    }

    /// nft reads the script from a file of its own in /run (a tmpfs): one transaction, so a
    /// chain is never seen half-written.
    private static func apply(_ script: String, what: String) throws(PartitionError) {
        let path = "/run/partctl/guest-network.nft"
        try write(script, to: path)
        defer { unlink(path) }
        try HostProgram(["nft", "-f", path]).check(what)
    }

    private static func write(_ text: String, to path: String) throws(PartitionError) {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard descriptor >= 0 else {
            throw PartitionError(.system, "Could not open \(path): \(String(cString: strerror(errno))).")
        }
        defer { close(descriptor) }
        guard FileIO.writeAll(descriptor, text) else {
            throw PartitionError(.system, "Could not write \(path): \(String(cString: strerror(errno))).")
        }
    }
}
