import PartitionCore
import PartitionModel
#if canImport(Glibc)
import Glibc
#endif

/// Progress of a long operation on a terminal: one line on stderr, redrawn in place with the
/// elapsed time ("lp1: waiting for the agent… 4s"), erased when the operation ends.
final class TerminalProgress: OperationProgress, @unchecked Sendable {
    /// Allocated, so its address never moves (a stored property's `&` is not guaranteed to).
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var text: String?
    private var stopped = false
    private var thread: pthread_t?
    private let started: ContinuousClock.Instant
    private let fd: Int32

    init(started: ContinuousClock.Instant, fd: Int32 = STDERR_FILENO) {
        self.started = started
        self.fd = fd
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func waiting(_ path: PartitionPath, _ what: String) {
        show("\(path): \(what)")
    }

    /// Shows `line` (with "…" and the elapsed time) until the next line or `finish`.
    func show(_ line: String) {
        pthread_mutex_lock(mutex)
        text = "\(line)…"
        let start = thread == nil && !stopped
        pthread_mutex_unlock(mutex)
        draw()
        if start { startThread() }
    }

    /// Stops redrawing and erases the line.
    func finish() {
        pthread_mutex_lock(mutex)
        stopped = true
        let running = thread
        let shown = text != nil
        pthread_mutex_unlock(mutex)
        if let running { pthread_join(running, nil) }
        if shown { StandardStream.write("\r\u{1B}[K", to: fd) }
    }

    private func draw() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard let text, !stopped else { return }
        let seconds = (ContinuousClock.now - started).components.seconds
        StandardStream.write("\r\u{1B}[K\(text) \(seconds)s", to: fd)
    }

    private func startThread() {
        let box = Unmanaged.passRetained(self).toOpaque()
        var created = pthread_t()
        guard pthread_create(&created, nil, { argument in
            let progress = Unmanaged<TerminalProgress>.fromOpaque(argument!).takeRetainedValue()
            progress.redrawUntilStopped()
            return nil
        }, box) == 0 else {
            Unmanaged<TerminalProgress>.fromOpaque(box).release()
            return
        }
        pthread_mutex_lock(mutex)
        thread = created
        pthread_mutex_unlock(mutex)
    }

    private func redrawUntilStopped() {
        while true {
            usleep(250_000)
            pthread_mutex_lock(mutex)
            let done = stopped
            pthread_mutex_unlock(mutex)
            if done { return }
            draw()
        }
    }
}

/// How a lifecycle verb (activate, shutdown, restart) reports: on a terminal, a progress line
/// while it waits and one line when done ("lp1: activated (running) in 6.2s"), both on stderr;
/// with --json, `{"path": ..., "state": ...}` on stdout; otherwise (piped) nothing.
struct LifecycleReport {
    let path: PartitionPath
    let json: Bool
    var terminal = isatty(STDERR_FILENO) == 1

    /// Runs `body` with progress shown on a terminal; `body` returns the state reached.
    func run(_ manager: PartitionManager, done verb: String,
             _ body: () throws(PartitionError) -> PartitionState) throws(PartitionError) {
        let started = ContinuousClock.now
        let progress = terminal ? TerminalProgress(started: started) : nil
        if let progress { manager.progress = progress }
        let state: PartitionState
        do {
            state = try body()
        } catch {
            progress?.finish()
            throw error
        }
        progress?.finish()
        if json {
            printLine("{\"path\":\"\(path)\",\"state\":\"\(state.rawValue)\"}")
        } else if terminal {
            StandardStream.write("\(path): \(verb) (\(state.rawValue)) in \(Self.elapsed(since: started))\n", to: STDERR_FILENO)
        }
    }

    /// "6.2s"
    static func elapsed(since started: ContinuousClock.Instant) -> String {
        let tenths = Int((ContinuousClock.now - started) / .milliseconds(100))
        return "\(tenths / 10).\(tenths % 10)s"
    }
}
