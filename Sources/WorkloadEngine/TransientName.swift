import Glibc
import Synchronization
import SystemKit

/// "run-<pid>-<start time>-<n>": the cgroup name of a transient run, naming the partctl process
/// that owns it so that a later run can tell an abandoned one from a live one.
struct TransientName {
    var owner: ProcessIdentity
    var count: Int

    var text: String { "run-\(owner.pid)-\(owner.startTime)-\(count)" }

    private static let this: ProcessIdentity? = try? ProcessIdentity.current(pid: getpid())
    /// Per process, not per engine: several engines in one process must not share a name.
    private static let made = Atomic<Int>(0)

    static func next() -> TransientName {
        let count = made.add(1, ordering: .relaxed).newValue
        return TransientName(owner: this ?? ProcessIdentity(pid: getpid(), startTime: 0, bootID: BootID.current()), count: count)
    }

    init(owner: ProcessIdentity, count: Int) {
        self.owner = owner
        self.count = count
    }

    init?(parsing text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 4, parts[0] == "run", let pid = pid_t(parts[1]), let start = UInt64(parts[2]),
              let count = Int(parts[3]) else { return nil }
        owner = ProcessIdentity(pid: pid, startTime: start, bootID: BootID.current())
        self.count = count
    }
}
