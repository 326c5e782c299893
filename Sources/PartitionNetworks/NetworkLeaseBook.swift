import Foundation
import Glibc
import PartitionModel
import SystemKit

/// A managed network's lease book (docs/network-addresses.md): `<network>/leases.json`, partctl's
/// authority for the addresses it hands out, and `<network>/hosts/`, one dnsmasq reservation file
/// per lease (`MAC,ADDRESS,NAME`), so that a DHCP client with that MAC gets exactly that address.
/// Both change only under the flock of `<network>/.lock`; the hosts directory is made to match the
/// book at each change, so a command killed between the two writes is repaired by the next one.
public struct NetworkLeaseBook {
    public let network: ManagedNetwork
    /// `$PARTCTL_ROOT/networks/<name>`.
    public let directory: String

    /// `root`: `$PARTCTL_ROOT/networks`.
    public init(root: String, network: ManagedNetwork) {
        self.network = network
        self.directory = root + "/" + network.name
    }

    var leasesPath: String { directory + "/leases.json" }
    var hostsDirectory: String { directory + "/hosts" }
    var dnsmasqLeasesPath: String { directory + "/dnsmasq.leases" }
    var dnsmasqPidPath: String { directory + "/dnsmasq.pid" }
    static let leasesLimit = 8 << 20

    // MARK: The verbs

    /// Leases an address to `partition` for its adapter `mac`: `requested` (checked) or, when nil,
    /// the lowest free address of `leasedRange`. The same partition and MAC again returns its lease
    /// (a different `requested` moves it). A conflict is `.invalidArgument`, one line, nothing changed.
    public func lease(partition: String, mac: String, requested: IPv4Address?) throws(PartitionError) -> NetworkLease {
        let mac = try MACAddress.normalized(mac)
        return try locked { () throws(PartitionError) -> NetworkLease in
            var book = try readLeases()
            if let own = book.first(where: { $0.mac == mac }) {
                guard own.partition == partition else {
                    throw PartitionError(.invalidArgument, "The MAC address \(mac) on \(network.name) is already leased to \(own.partition).")
                }
                if requested == nil || requested == own.address {
                    try syncHosts(book)  // repairs a reservation a killed command did not write
                    return own
                }
            }
            let others = book.filter { $0.mac != mac }
            let lease: NetworkLease
            if let requested {
                try check(requested, for: partition, mac: mac, against: others)
                lease = NetworkLease(partition: partition, mac: mac, address: requested, fixed: true)
            } else {
                lease = NetworkLease(partition: partition, mac: mac, address: try freeAddress(avoiding: others, mac: mac), fixed: false)
            }
            let moved = book.count != others.count
            book = others + [lease]
            try write(book, reload: moved)
            return lease
        }
    }

    /// Releases every lease of `partition` (each of an LPAR's adapters) but those of the MACs in
    /// `keeping` (the adapters it still has); nothing to release is fine.
    public func release(partition: String, keeping macs: Set<String> = []) throws(PartitionError) {
        try locked { () throws(PartitionError) in
            let book = try readLeases()
            let kept = book.filter { $0.partition != partition || macs.contains($0.mac) }
            guard kept.count != book.count else { return }
            try write(kept, reload: true)
            releaseWithDnsmasq(Set(book).subtracting(kept))
        }
    }

    /// Drops the leases of partitions that no longer exist (`exists` false): what a command killed
    /// between its lease and its definition, or during a remove, left behind. The caller holds
    /// what makes `exists` stable (partctl's names lock). Returns the leases dropped.
    @discardableResult
    public func dropLeases(ofPartitionsNotIn exists: (String) -> Bool) throws(PartitionError) -> [NetworkLease] {
        try locked { () throws(PartitionError) -> [NetworkLease] in
            let book = try readLeases()
            let stale = book.filter { !exists($0.partition) }
            if !stale.isEmpty {
                try write(book.filter { exists($0.partition) }, reload: true)
                releaseWithDnsmasq(Set(stale))
            }
            return stale
        }
    }

    /// The book as it is (no lock: it is replaced whole, never written in place).
    public func leases() throws(PartitionError) -> [NetworkLease] {
        try readLeases()
    }

    /// dnsmasq's own dynamic leases that have not expired (`dnsmasq.leases`: "EXPIRY MAC ADDRESS
    /// HOSTNAME CLIENT-ID", expiry 0 for never); hostname nil where dnsmasq wrote `*`.
    public func dynamicLeases() -> [(mac: String, address: IPv4Address, hostname: String?)] {
        guard let text = FileIO.readText(dnsmasqLeasesPath, limit: 1 << 20) else { return [] }
        return DnsmasqLeases.parse(text, now: UInt64(max(0, time(nil))))
    }

    // MARK: Checks

    private func check(_ address: IPv4Address, for partition: String, mac: String, against others: [NetworkLease]) throws(PartitionError) {
        let name = network.name
        guard network.subnet.contains(address) else {
            throw PartitionError(.invalidArgument, "\(address) is not in \(name)'s subnet \(network.subnet).")
        }
        if address == network.subnet.network || address == network.subnet.broadcast {
            throw PartitionError(.invalidArgument, "\(address) is \(name)'s \(address == network.subnet.network ? "network" : "broadcast") address, not a host's.")
        }
        if address == network.gateway {
            throw PartitionError(.invalidArgument, "\(address) is \(name)'s gateway (the host's own address on \(network.bridge)).")
        }
        if let holder = others.first(where: { $0.address == address }) {
            let whose = holder.partition == partition ? "another adapter of \(partition)" : holder.partition
            throw PartitionError(.invalidArgument, "\(address) on \(name) is already leased to \(whose).")
        }
        if let live = liveDynamicLeases().first(where: { $0.address == address && $0.mac != mac }) {
            throw PartitionError(.invalidArgument,
                "\(address) on \(name) is in use by \(live.hostname ?? live.mac) (a DHCP lease of dnsmasq, until it expires).")
        }
    }

    /// dnsmasq's leases held by other clients until they expire: dnsmasq itself will not hand
    /// their addresses to anyone else meanwhile, reservation or not ("not using configured
    /// address ... because it is leased to ..."), so neither does the book. A removed
    /// partition's DHCP client thus keeps its address blocked for at most the lease time (1h).
    private func liveDynamicLeases() -> [(mac: String, address: IPv4Address, hostname: String?)] {
        dynamicLeases()
    }

    private func freeAddress(avoiding others: [NetworkLease], mac: String) throws(PartitionError) -> IPv4Address {
        var taken = Set(others.map(\.address))
        taken.insert(network.gateway)
        for live in liveDynamicLeases() where live.mac != mac { taken.insert(live.address) }
        let range = network.leasedRange
        if let free = range.lowestFree(excluding: taken) { return free }
        throw PartitionError(.outOfRange,
            "\(network.name) has no free address left in \(range.lowerBound)–\(range.upperBound); 'partctl network show \(network.name)' lists its leases.")
    }

    // MARK: Files

    private func locked<T>(_ body: () throws(PartitionError) -> T) throws(PartitionError) -> T {
        try makeDirectories()
        let lock = try PartitionLock.acquire(path: directory + "/.lock", wait: true, timeout: 30)
        defer { withExtendedLifetime(lock) {} }
        return try body()
    }

    private func makeDirectories() throws(PartitionError) {
        let root = String(directory[..<(directory.lastIndex(of: "/") ?? directory.endIndex)])
        for (path, mode) in [(root, mode_t(0o711)), (directory, mode_t(0o755)), (hostsDirectory, mode_t(0o755))] {
            if mkdir(path, mode) != 0 && errno != EEXIST { throw POSIX.failure("create \(path)") }
        }
    }

    private func readLeases() throws(PartitionError) -> [NetworkLease] {
        guard let bytes = try AtomicFile.read(leasesPath, limit: Self.leasesLimit) else { return [] }
        do {
            return try JSONDecoder().decode([NetworkLease].self, from: Data(bytes))
        } catch {
            throw PartitionError(.invalidState, "The lease book \(leasesPath) is not one partctl wrote; move it aside to start afresh.")
        }
    }

    /// The book first, then the reservations made to match it; dnsmasq is told to forget old ones
    /// (it adds what appears in its hosts directory by itself, but removes only on SIGHUP).
    private func write(_ book: [NetworkLease], reload: Bool) throws(PartitionError) {
        let sorted = book.sorted { ($0.address, $0.mac) < ($1.address, $1.mac) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do { data = try encoder.encode(sorted) } catch {
            throw PartitionError(.internal, "The lease book of \(network.name) could not be encoded.")
        }
        try AtomicFile.write(Array(data), to: leasesPath, mode: 0o644)
        let removed = try syncHosts(sorted)
        if reload || removed { signalDnsmasq() }
    }

    /// Makes `hosts/` hold exactly one file per lease; true when it removed or changed one.
    @discardableResult
    private func syncHosts(_ book: [NetworkLease]) throws(PartitionError) -> Bool {
        var wanted: [String: String] = [:]
        for lease in book {
            wanted[Self.hostsFileName(mac: lease.mac)] = "\(lease.mac),\(lease.address),\(Self.hostName(partition: lease.partition))\n"
        }
        var changed = false
        for name in Self.entries(of: hostsDirectory) where wanted[name] == nil {
            if unlink(hostsDirectory + "/" + name) == 0 { changed = true }
        }
        for (name, line) in wanted {
            let path = hostsDirectory + "/" + name
            let current = FileIO.readText(path, limit: 4096)
            if current == line { continue }
            if current != nil { changed = true }
            try AtomicFile.write(Array(line.utf8), to: path, mode: 0o644)
        }
        return changed
    }

    /// `52-54-00-12-34-56` for 52:54:00:12:34:56.
    static func hostsFileName(mac: String) -> String { mac.replacingOccurrences(of: ":", with: "-") }

    /// The partition path as a DHCP host name: `lp1-web` for `lp1/web`.
    static func hostName(partition: String) -> String { partition.replacingOccurrences(of: "/", with: "-") }

    private static func entries(of directory: String) -> [String] {
        guard let handle = opendir(directory) else { return [] }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." && !name.hasPrefix(".") { names.append(name) }
        }
        return names
    }

    /// SIGHUP to this network's dnsmasq, when it runs: it forgets reservations whose file went.
    private func signalDnsmasq() {
        if let pid = DnsmasqProcess(directory: directory).runningPid() { kill(pid, SIGHUP) }
    }

    /// Ends dnsmasq's own leases of released addresses at once with a DHCPRELEASE on the bridge
    /// (`dhcp_release`, dnsmasq-utils, as libvirt and Incus do): otherwise the address stays taken
    /// for the client's MAC until the lease expires, up to an hour, and another partition's
    /// reservation of it is refused by dnsmasq. Best effort: an expired lease is the fallback.
    private func releaseWithDnsmasq(_ released: Set<NetworkLease>) {
        guard !released.isEmpty, DnsmasqProcess(directory: directory).runningPid() != nil,
              let tool = HostProgram.find(["/usr/bin/dhcp_release", "/usr/sbin/dhcp_release"]),
              let text = FileIO.readText(dnsmasqLeasesPath, limit: 1 << 20) else { return }
        // "EXPIRY MAC ADDRESS HOSTNAME CLIENT-ID": dnsmasq matches the release by client id too.
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ").map(String.init)
            guard fields.count >= 5, released.contains(where: { $0.mac == fields[1].lowercased() && $0.address.description == fields[2] }) else { continue }
            _ = try? HostProgram([tool, network.bridge, fields[2], fields[1]] + (fields[4] == "*" ? [] : [fields[4]])).run()
        }
    }
}

/// dnsmasq's lease file, read.
enum DnsmasqLeases {
    static func parse(_ text: String, now: UInt64) -> [(mac: String, address: IPv4Address, hostname: String?)] {
        var leases: [(mac: String, address: IPv4Address, hostname: String?)] = []
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 4, let expiry = UInt64(fields[0]), expiry == 0 || expiry > now,
                  let mac = try? MACAddress.normalized(String(fields[1])), let address = IPv4Address(String(fields[2])) else { continue }
            leases.append((mac, address, fields[3] == "*" ? nil : String(fields[3])))
        }
        return leases
    }
}
