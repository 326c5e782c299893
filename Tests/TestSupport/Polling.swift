import Foundation
import Glibc

/// Polls `condition` until it holds or `timeout` seconds pass; returns whether it held. The test
/// waits for the thing itself, not for a guessed time: it goes on as soon as the condition holds.
@discardableResult
public func waitUntil(timeout: Double, interval: Double = 0.01, _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = monotonicSeconds() + timeout
    while monotonicSeconds() < deadline {
        if try condition() { return true }
        usleep(UInt32(max(interval, 0.001) * 1_000_000))
    }
    return try condition()
}

/// Seconds on the monotonic clock (for deadlines and elapsed times).
public func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// What `withinSeconds` hands back: the body's value, or that it did not return in time.
public enum Timed<T: Sendable>: Sendable {
    case finished(T)
    case timedOut(seconds: Int)

    public var value: T? {
        if case .finished(let value) = self { return value }
        return nil
    }
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it: a test of a hang must
/// fail, not hang. A body that never returns keeps its thread until the tests end.
public func withinSeconds<T: Sendable>(_ seconds: Int, _ body: @escaping @Sendable () -> T) -> Timed<T> {
    let outcome = TimedOutcome<T>()
    Thread.detachNewThread {
        outcome.value = body()
        outcome.done.signal()
    }
    guard outcome.done.wait(timeout: .now() + .seconds(seconds)) == .success, let value = outcome.value else {
        return .timedOut(seconds: seconds)
    }
    return .finished(value)
}

/// What `withinSeconds` hands between threads: written before the signal, read only after it.
private final class TimedOutcome<T>: @unchecked Sendable {
    var value: T?
    let done = DispatchSemaphore(value: 0)
}

/// A blocking call run on a thread of its own while the test goes on; its result (or error) is
/// handed over by `value(within:)`, which throws `TimedOut` when the call has not returned by then.
public final class BackgroundResult<Value: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var result: Result<Value, any Error>?

    public init(_ body: @escaping @Sendable () throws -> Value) {
        Thread.detachNewThread { [self] in
            result = Result { try body() }
            done.signal()
        }
    }

    public func value(within limit: Duration) throws -> Value {
        let seconds = Double(limit.components.seconds) + Double(limit.components.attoseconds) / 1e18
        guard done.wait(timeout: .now() + seconds) == .success, let result else { throw TimedOut(limit: limit) }
        return try result.get()
    }
}

/// A call or a process that did not finish in the time a test gave it.
public struct TimedOut: Error, CustomStringConvertible {
    public var limit: Duration
    public var description: String { "did not finish within \(limit)" }
}
