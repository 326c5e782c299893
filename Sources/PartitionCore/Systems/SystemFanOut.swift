import Foundation
import PartitionModel

/// Work on every managed system at once, each on its own thread, so that a slow system adds its
/// delay once, not to every other one, and one that does not connect in time (a silent TCP
/// endpoint waits minutes for the kernel's SYN retries) is reported late instead of holding the
/// command: its thread is left behind, the command ends without it.
enum SystemFanOut {
    /// How long a system may take to connect: `$PARTCTL_SYSTEM_TIMEOUT` seconds, default 10.
    static func connectTimeout(_ configuration: PartctlConfiguration) -> Double {
        configuration.environment["PARTCTL_SYSTEM_TIMEOUT"].flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil } ?? 10
    }

    private final class Slot<T: Sendable>: @unchecked Sendable {
        let lock = NSLock()
        var result: T?
        /// Signalled once the system's connection is open (or failed), and again at the end.
        let connected = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
    }

    /// `work(system, connected)` for every system, in their order. `work` calls `connected()` once
    /// its connection is open or has failed; a system that has not by `timeout` seconds from the
    /// start is `late(system)`. After connecting, a system's work runs to its end.
    static func map<T: Sendable>(_ systems: [ManagedSystem], timeout: Double,
                                 _ work: @escaping @Sendable (ManagedSystem, @escaping @Sendable () -> Void) -> T,
                                 late: (ManagedSystem) -> T) -> [T] {
        let slots = systems.map { _ in Slot<T>() }
        for (system, slot) in zip(systems, slots) {
            let thread = Thread {
                let result = work(system) { slot.connected.signal() }
                slot.lock.withLock { slot.result = result }
                slot.connected.signal()
                slot.done.signal()
            }
            // libvirt's RPC and the tree's records need more than Foundation's default 512 KiB.
            thread.stackSize = 8 << 20
            thread.start()
        }
        let deadline = DispatchTime.now() + timeout
        return zip(systems, slots).map { system, slot in
            if slot.connected.wait(timeout: deadline) == .timedOut { return late(system) }
            slot.done.wait()
            return slot.lock.withLock { slot.result } ?? late(system)
        }
    }

    /// One value computed on another thread while this one goes on.
    final class Background<T: Sendable>: @unchecked Sendable {
        private var result: T?
        private let done = DispatchSemaphore(value: 0)

        init(_ body: @escaping @Sendable () -> T) {
            let thread = Thread { [self] in
                result = body()
                done.signal()
            }
            thread.start()
        }

        var value: T {
            done.wait()
            done.signal()
            return result!
        }
    }
}
