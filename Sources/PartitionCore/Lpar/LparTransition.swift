import LibvirtKit
import PartitionModel
import SystemKit
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// A start or stop of an LPAR that libvirt does not show: libvirt says `running` from the moment
/// QEMU runs until the guest powers off. partctl notes `starting` (until the agent's port is
/// open) and `stopping` (a shutdown asked for) in `<runtime>/lpar-transitions/<name>`, with a
/// deadline, so that a note whose command died or gave up expires by itself.
struct LparTransition {
    enum Kind: String { case starting, stopping }

    let runtimeRoot: String

    static let directoryName = "lpar-transitions"
    private var directory: String { runtimeRoot + "/" + Self.directoryName }
    private func file(_ name: PartitionName) -> String { directory + "/" + name.rawValue }

    func note(_ name: PartitionName, _ kind: Kind, for duration: Duration) {
        guard (try? StateDirectory.ensureRuntime(Self.directoryName, below: runtimeRoot)) != nil else { return }
        let until = Self.now() + Double(duration.components.seconds)
        try? AtomicFile.write(Array("\(kind.rawValue) \(until)\n".utf8), to: file(name), mode: 0o644, durable: false)
    }

    func clear(_ name: PartitionName) {
        unlink(file(name))
    }

    /// The noted transition, unless it has expired.
    func current(_ name: PartitionName) -> Kind? {
        guard let bytes = try? AtomicFile.read(file(name), limit: 256) else { return nil }
        let fields = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let kind = Kind(rawValue: String(fields[0])), let until = Double(fields[1]),
              Self.now() < until else { return nil }
        return kind
    }

    /// The state `query` shows for a running LPAR: `starting` while a noted start waits for the
    /// agent's port, `stopping` while a noted shutdown is under way.
    func state(_ name: PartitionName, libvirt state: PartitionState, domain: LibvirtDomain) -> PartitionState {
        guard state == .running, let kind = current(name) else { return state }
        switch kind {
        case .stopping: return .stopping
        case .starting: return (try? AgentChannelState.channels(of: domain).first { $0.index == 0 }?.port) == .disconnected ? .starting : state
        }
    }

    private static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

extension PartitionManager {
    /// An LPAR's state as libvirt and a noted transition give it, without asking its agent
    /// (what `activate --no-wait` reports); WPARs: nil.
    public func lparState(_ path: PartitionPath) -> PartitionState? {
        guard path.depth == 1, let name = path.name, let domain = try? libvirt().lookupDomain(name: name.rawValue),
              let info = try? domain.info() else { return nil }
        return LparTransition(runtimeRoot: configuration.runtimeRoot).state(name, libvirt: PartitionState(libvirt: info.state), domain: domain)
    }
}
