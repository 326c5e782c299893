import Glibc
import PartitionModel
import SystemKit

/// The host ID ranges that user-namespaced WPARs hold, so that no two of them ever share an ID.
///
/// Each holder (a defined WPAR as `<name>@<key of its definitions root>`, a transient run by its
/// `TransientName`) has one lease file per host range, `<first>-<count>.<holder>`, in
/// `/var/lib/partctl/userns-ranges/`: one directory for the whole host (or guest), whatever
/// `$PARTCTL_ROOT` an engine uses, since the IDs are the kernel's. The names alone say everything,
/// so taking a range reads one directory and no file. Leases change only under the
/// directory's lock. A lease whose holder is gone (a run whose partctl died, a WPAR whose define or
/// remove was killed half-way) is dropped by the next allocation.
///
/// Allocated ranges are 65536 IDs, aligned, between 0x70000000 and 0x7FFE0000: above systemd-nspawn's
/// container range (0x80000-0x6FFEFFFF) and the /etc/subuid ranges that Incus, LXD and podman
/// delegate by default (from 100000 or 1000000, 1e9 long), below systemd's foreign-ID range
/// (0x7FFE0000) and below 2^31, since some tools still take IDs for signed. Slots that meet a range
/// delegated in /etc/subuid or /etc/subgid, or an ID of /etc/passwd or /etc/group, are skipped.
struct UserNamespaceRanges {
    static let regionStart: UInt64 = 0x7000_0000
    static let regionEnd: UInt64 = 0x7FFE_0000
    static let size: UInt64 = 65536

    let directory: String

    init(directory: String = RuntimePaths.defaultDefinitions + "/userns-ranges") { self.directory = directory }

    struct Lease: Equatable {
        var first: UInt64
        var count: UInt64
        var holder: String

        var fileName: String { "\(first)-\(count).\(holder)" }
        func overlaps(_ first: UInt64, _ count: UInt64) -> Bool { self.first < first + count && first < self.first + self.count }

        init(first: UInt64, count: UInt64, holder: String) {
            self.first = first
            self.count = count
            self.holder = holder
        }

        init?(fileName: String) {
            guard let dot = fileName.firstIndex(of: ".") else { return nil }
            let range = fileName[..<dot].split(separator: "-")
            guard range.count == 2, let first = UInt64(range[0]), let count = UInt64(range[1]) else { return nil }
            self.init(first: first, count: count, holder: String(fileName[fileName.index(after: dot)...]))
        }
    }

    /// The concrete mapping for `holder`: `request` itself when it pins its ranges (refused when they
    /// meet another holder's), else `previous` when that was allocated for it, else a free slot.
    /// `isGone` tells a stale holder (other than `holder`) from a live one.
    /// `commit` runs under the lock with the mapping (to record it); if it throws, the leases are
    /// as they were before.
    func acquire(_ request: UserNamespaceMapping, for holder: String, previous: UserNamespaceMapping?,
                 isGone: (String) -> Bool,
                 commit: (UserNamespaceMapping) throws(PartitionError) -> Void = { _ in }) throws(PartitionError) -> UserNamespaceMapping {
        try locked { () throws(PartitionError) -> UserNamespaceMapping in
            var others: [Lease] = []
            var own: [Lease] = []
            for lease in try leases() {
                if lease.holder == holder {
                    own.append(lease)
                } else if isGone(lease.holder) {
                    unlink(directory + "/" + lease.fileName)
                } else {
                    others.append(lease)
                }
            }
            let mapping: UserNamespaceMapping
            if request.allocated != true {
                for range in request.uids + request.gids {
                    if let other = others.first(where: { $0.overlaps(UInt64(range.outside), UInt64(range.count)) }) {
                        throw PartitionError(.invalidArgument,
                            "The user namespace's host IDs \(range.outside)-\(UInt64(range.outside) + UInt64(range.count) - 1) overlap those of \(Self.describe(other.holder)) (\(other.first)-\(other.first + other.count - 1)).")
                    }
                }
                mapping = request
            } else if let previous, previous.allocated == true, !previous.uids.isEmpty,
                      previous.uids.allSatisfy({ range in own.contains { $0.overlaps(UInt64(range.outside), UInt64(range.count)) } }) {
                mapping = previous
            } else {
                let first = try freeSlot(avoiding: others)
                mapping = .allocated(first: UInt32(first), count: UInt32(Self.size))
            }
            let wanted = Self.leases(of: mapping, holder: holder)
            let added = wanted.filter { !own.contains($0) }
            do throws(PartitionError) {
                for lease in added { try create(lease) }
                try commit(mapping)
            } catch {
                for lease in added { unlink(directory + "/" + lease.fileName) }
                throw error
            }
            for lease in own where !wanted.contains(lease) { unlink(directory + "/" + lease.fileName) }
            return mapping
        }
    }

    /// Drops every lease of `holder`.
    func release(_ holder: String) throws(PartitionError) {
        try locked { () throws(PartitionError) in
            for lease in try leases() where lease.holder == holder { unlink(directory + "/" + lease.fileName) }
        }
    }

    /// Every lease, as the directory's names say.
    func leases() throws(PartitionError) -> [Lease] {
        guard let stream = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw HostSystem.failure("open \(directory)")
        }
        defer { closedir(stream) }
        var found: [Lease] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if let lease = Lease(fileName: name) { found.append(lease) }
        }
        return found
    }

    /// One lease per distinct host range of `mapping`.
    static func leases(of mapping: UserNamespaceMapping, holder: String) -> [Lease] {
        var result: [Lease] = []
        for range in mapping.uids + mapping.gids {
            let lease = Lease(first: UInt64(range.outside), count: UInt64(range.count), holder: holder)
            if !result.contains(lease) { result.append(lease) }
        }
        return result
    }

    /// The lowest aligned slot of the region that meets no lease, no delegated range and no host ID.
    func freeSlot(avoiding others: [Lease]) throws(PartitionError) -> UInt64 {
        let taken = others.map { ($0.first, $0.count) } + HostIdentities.reserved()
        var slot = Self.regionStart
        while slot + Self.size <= Self.regionEnd {
            if !taken.contains(where: { $0.0 < slot + Self.size && slot < $0.0 + $0.1 }) { return slot }
            slot += Self.size
        }
        throw PartitionError(.unavailable,
            "No free range of \(Self.size) host IDs is left for a user namespace (all \((Self.regionEnd - Self.regionStart) / Self.size) are held).")
    }

    private func create(_ lease: Lease) throws(PartitionError) {
        let path = directory + "/" + lease.fileName
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw HostSystem.failure("create \(path)") }
        close(fd)
    }

    private func locked<Result>(_ body: () throws(PartitionError) -> Result) throws(PartitionError) -> Result {
        try StateDirectory.ensure(directory, mode: 0o700)
        let lock = try PartitionLock.acquire(path: directory + "/.lock", wait: true, timeout: 10)
        return try withExtendedLifetime(lock) { () throws(PartitionError) -> Result in try body() }
    }

    private static func describe(_ holder: String) -> String {
        TransientName(parsing: holder) != nil ? "a running `partctl run`" : "the WPAR \(holder.split(separator: "@").first.map(String.init) ?? holder)"
    }
}

/// IDs the host already uses or hands out, which no allocated range may contain.
enum HostIdentities {
    /// (first, count) of every /etc/subuid and /etc/subgid range and of every ID in /etc/passwd and
    /// /etc/group. A file that is missing contributes nothing.
    static func reserved() -> [(UInt64, UInt64)] {
        var ranges: [(UInt64, UInt64)] = []
        for file in ["/etc/subuid", "/etc/subgid"] {
            for fields in lines(of: file) where fields.count >= 3 {
                if let first = UInt64(fields[1]), let count = UInt64(fields[2]) { ranges.append((first, count)) }
            }
        }
        for file in ["/etc/passwd", "/etc/group"] {
            for fields in lines(of: file) where fields.count >= 3 {
                if let id = UInt64(fields[2]) { ranges.append((id, 1)) }
            }
        }
        return ranges
    }

    private static func lines(of path: String) -> [[Substring]] {
        guard let bytes = try? AtomicFile.read(path, limit: 4 << 20) else { return [] }
        return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map {
            $0.split(separator: ":", omittingEmptySubsequences: false)
        }
    }
}
