import CLibvirt
import Glibc
import PartitionModel
import Synchronization

/// libvirt's default event loop, run on a dedicated thread for the rest of the process.
///
/// Streams (consoles, agent channels) are non-blocking and are driven by this loop: libvirt reports
/// readiness through callbacks that run on the loop's thread. libvirt only wires a connection into the
/// loop when the loop is registered before the connection is opened, so call `start()` first in any
/// process that will open a console or a channel. Commands that never use streams need not start it.
public enum LibvirtEventLoop {
    private static let started = Mutex(false)

    /// Registers libvirt's default event implementation and starts the thread that runs it.
    /// Calling it again does nothing.
    public static func start() throws(PartitionError) {
        try started.withLock { (started: inout Bool) throws(PartitionError) in
            if started { return }
            LibvirtRuntime.ensureInitialized()
            try LibvirtCall.run("virEventRegisterDefaultImpl") { virEventRegisterDefaultImpl() }
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { _ in
                LibvirtEventLoop.runForever()
            }, nil)
            guard status == 0 else {
                throw PartitionError(.system, "Cannot start the libvirt event loop thread: \(String(cString: strerror(status))).")
            }
            pthread_detach(thread)
            started = true
        }
    }

    /// Whether `start()` has run; connections opened afterwards can use streams.
    public static var isRunning: Bool { started.withLock { $0 } }

    private static func runForever() -> Never {
        while true {
            // Each call waits for one round of events and dispatches their callbacks. A failure means
            // poll() itself failed; back off briefly rather than spin.
            if virEventRunDefaultImpl() < 0 {
                virResetLastError()
                usleep(10_000)
            }
        }
    }

    // MARK: Watches and timers for LibvirtKit's own use

    /// A closure the loop calls; retained by libvirt until it frees the registration.
    private final class Callback: @unchecked Sendable {
        let handle: @Sendable (Int32) -> Void
        init(_ handle: @escaping @Sendable (Int32) -> Void) { self.handle = handle }
    }

    private static let releaseCallback: virFreeCallback = { opaque in
        if let opaque { Unmanaged<Callback>.fromOpaque(opaque).release() }
    }

    /// Watches a file descriptor; `handler` gets the ready events (`VIR_EVENT_HANDLE_*`) on the loop's thread.
    static func addHandle(
        fd: Int32, events: Int32, handler: @escaping @Sendable (Int32) -> Void
    ) throws(PartitionError) -> Int32 {
        let callback = Unmanaged.passRetained(Callback(handler)).toOpaque()
        let watch = virEventAddHandle(fd, events, { _, _, events, opaque in
            Unmanaged<Callback>.fromOpaque(opaque!).takeUnretainedValue().handle(events)
        }, callback, releaseCallback)
        guard watch >= 0 else {
            Unmanaged<Callback>.fromOpaque(callback).release()
            throw PartitionError(.system, "Cannot watch file descriptor \(fd) in the libvirt event loop; is the loop started?")
        }
        return watch
    }

    static func updateHandle(_ watch: Int32, events: Int32) {
        virEventUpdateHandle(watch, events)
    }

    static func removeHandle(_ watch: Int32) {
        _ = virEventRemoveHandle(watch)
    }

    /// Runs `work` once on the loop's thread, as soon as the loop gets to it.
    static func runSoon(_ work: @escaping @Sendable () -> Void) throws(PartitionError) {
        let callback = Unmanaged.passRetained(Callback { timer in
            // A zero-period timer fires on every round until removed: remove it before working.
            _ = virEventRemoveTimeout(timer)
            work()
        }).toOpaque()
        let timer = virEventAddTimeout(0, { timer, opaque in
            Unmanaged<Callback>.fromOpaque(opaque!).takeUnretainedValue().handle(timer)
        }, callback, releaseCallback)
        guard timer >= 0 else {
            Unmanaged<Callback>.fromOpaque(callback).release()
            throw PartitionError(.system, "Cannot schedule work on the libvirt event loop; is the loop started?")
        }
    }
}
