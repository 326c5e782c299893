import AgentProtocol
import Glibc
import PartitionModel

/// The agent's ports: one thread serves each port of the channel pool (`AgentWire.channelCount`),
/// so a console or login held on one port does not block commands on the others. A thread per
/// port, not per session or byte: a session's bytes are pumped by its port's thread in one poll
/// loop (`AgentSessionRunner`).
enum AgentPorts {
    /// How long the agent looks for ports beyond the first: an LPAR defined before the pool has
    /// only `org.partctl.agent.0`, and the others announce themselves within the boot.
    static let extraPortWait: Duration = .seconds(30)

    static func serve(_ server: AgentServer) -> Never {
        let signals = HostAttachSignals()
        for index in 0..<AgentWire.channelCount {
            let wake = signals.addWaiter()
            let started = WorkerThread.start {
                let path = AgentWire.guestPortPath(index)
                guard let link = AgentEndpoint.openPort(path, wake: wake, asksForSignal: signals.available,
                                                        giveUpAfter: index == 0 ? nil : extraPortWait) else {
                    log("no port \(path): this LPAR has fewer agent channels (defined before the pool)")
                    return
                }
                // The uptime tells how much of the boot-to-hello time the guest spent before the agent was ready.
                if index == 0 { log("serving protocol \(AgentWire.protocolVersion) on \(path) (uptime \(uptimeSeconds()) s)") }
                server.serve(link)
                log("the port \(path) failed")
                exit(1)
            }
            if !started {
                log("cannot start a thread for port \(index)")
                exit(1)
            }
        }
        signals.run()
    }
}

/// SIGIO from the virtio console driver says that a host attached to a port, but not to which: the
/// main thread takes it (blocked everywhere, so it stays pending until taken) and wakes every
/// port's thread through its pipe; each looks at its own port again.
final class HostAttachSignals: @unchecked Sendable {
    /// Whether SIGIO could be blocked (set before any thread starts, read-only after).
    let available: Bool
    private var pipes: [Int32] = []

    init() {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGIO)
        // Threads started later inherit the mask.
        available = sigprocmask(SIG_BLOCK, &signals, nil) == 0
    }

    /// A pipe end a port's thread polls; called before the threads start.
    func addWaiter() -> Int32 {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { return -1 }
        for end in ends {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        pipes.append(ends[1])
        return ends[0]
    }

    func run() -> Never {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGIO)
        while true {
            guard available else {
                pause()
                continue
            }
            var wait = timespec(tv_sec: 60, tv_nsec: 0)
            guard sigtimedwait(&signals, nil, &wait) == SIGIO else { continue }
            var byte: UInt8 = 1
            for end in pipes { _ = write(end, &byte, 1) }
        }
    }
}
