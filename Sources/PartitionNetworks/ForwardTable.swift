import Glibc
import PartitionModel
import SystemKit

/// Brings the kernel in line with forwards.json: the forward_* chains of `ip partctl` (one `nft -f`
/// transaction) and route_localnet on the bridges the forwards point into. Every forward command
/// calls it, so one killed half way is repaired by the next; `apply(root:)` restores the chains
/// after a reboot (NetworkHost.ensureAllUp, and activate when the chains are missing).
public enum ForwardTable {
    /// Renders the chains from the file, under its lock. `root`: `$PARTCTL_ROOT/networks`.
    public static func apply(root: String) throws(PartitionError) {
        let book = ForwardBook(root: root)
        try book.locked { () throws(PartitionError) in try render(try book.load(), book: book) }
    }

    /// After a reboot the kernel has no forward chains though the file has forwards: renders them.
    /// Cheap when there is nothing to do (one file read, one `nft list chain` when there are forwards).
    public static func restoreIfMissing(root: String) throws(PartitionError) {
        let book = ForwardBook(root: root)
        guard book.exists, !(try book.load()).isEmpty else { return }
        let probe = try HostProgram(["nft", "list", "chain", "ip", "partctl", "forward_prerouting"]).run()
        if probe.status != 0 { try apply(root: root) }
    }

    /// Makes the kernel's state what `forwards` says (the lock held by the caller).
    ///
    /// Order, for a command killed at any step: the bridges that get route_localnet are recorded
    /// (with those of before) first, so a later render knows every bridge it must guard and may
    /// reset; then route_localnet, the chains (guarding old and new bridges), and only then the
    /// bridges no forward needs any more go back to route_localnet 0 and leave the record.
    public static func render(_ forwards: [Forward], book: ForwardBook) throws(PartitionError) {
        let routes = HostRoutes.current()
        let wanted = Set(forwards.compactMap { HostRoutes.interface(for: $0.destination.address, in: routes) }.filter(HostRoutes.isBridge))
        let recorded = Set(readRecord(book))
        let all = wanted.union(recorded)
        if all != recorded { try writeRecord(all, book) }
        for bridge in wanted.sorted() { try setRouteLocalnet(bridge, on: true) }
        try load(ForwardRules.script(forwards, bridges: Array(all)), book: book)
        let stale = recorded.subtracting(wanted)
        guard !stale.isEmpty else { return }
        for bridge in stale.sorted() where HostRoutes.isBridge(bridge) { try setRouteLocalnet(bridge, on: false) }
        try load(ForwardRules.script(forwards, bridges: Array(wanted)), book: book)
        try writeRecord(wanted, book)
    }

    /// One nft transaction from a file of partctl's own (HostProgram gives programs no stdin).
    static func load(_ script: String, book: ForwardBook) throws(PartitionError) {
        let file = book.root + "/.forwards.nft"
        try AtomicFile.write(Array(script.utf8), to: file, mode: 0o600, durable: false)
        try HostProgram(["nft", "-f", file]).check("load partctl's forward rules into nftables")
    }

    /// `networks/.forwards-localnet`: the bridges partctl set route_localnet=1 on, one a line.
    static func recordFile(_ book: ForwardBook) -> String { book.root + "/.forwards-localnet" }

    static func readRecord(_ book: ForwardBook) -> [String] {
        (FileIO.readText(recordFile(book)) ?? "").split(separator: "\n").map(String.init).filter(ForwardRules.isInterfaceName)
    }

    static func writeRecord(_ bridges: Set<String>, _ book: ForwardBook) throws(PartitionError) {
        let text = bridges.sorted().map { $0 + "\n" }.joined()
        try AtomicFile.write(Array(text.utf8), to: recordFile(book), mode: 0o600)
    }

    /// net.ipv4.conf.BRIDGE.route_localnet: 1 lets a connection from 127.0.0.1, DNATed to a
    /// partition, leave through the bridge (and its answer come back) before it is masqueraded.
    static func setRouteLocalnet(_ bridge: String, on: Bool) throws(PartitionError) {
        let path = "/proc/sys/net/ipv4/conf/\(bridge)/route_localnet"
        let fd = POSIX.retryingInterrupts { open(path, O_WRONLY | O_CLOEXEC) }
        guard fd >= 0 else {
            if errno == ENOENT { return }  // the bridge went away: nothing to route through
            throw POSIX.failure("open \(path)")
        }
        defer { close(fd) }
        guard FileIO.writeAll(fd, on ? "1\n" : "0\n") else { throw POSIX.failure("write \(path)") }
    }
}
