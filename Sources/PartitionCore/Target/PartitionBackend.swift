import PartitionModel
import PartitionProfiles

/// The verbs that act on an existing partition.
public enum PartitionVerb: String, Sendable, CaseIterable {
    case activate, shutdown, force, restart, remove, modify, console, consoleLog = "console --log", login
}

/// How a console session ended, for the command layer to tell the user.
public enum ConsoleEnding: Equatable, Sendable {
    /// The user left (`~.`, end of input) or the partition's side ended quietly.
    case left
    /// The partition's side closed the console; the reason when one is known.
    case closed(String?)
}

/// One partition, resolved, with every verb partctl has. Each kind of partition (LPAR, host WPAR,
/// nested WPAR) implements all of them; a verb a kind does not have throws `.unsupported` with a
/// sentence naming what to use instead, so the manager never branches on the kind.
protocol PartitionBackend {
    var target: PartitionTarget { get }
    /// Told what a long verb waits for.
    var progress: OperationProgress { get }
    /// Whether `verb` applies to this kind of partition: false exactly where the verb throws `.unsupported`.
    func supports(_ verb: PartitionVerb) -> Bool

    /// `wait` false returns once the start is under way (an LPAR then shows `starting` until its
    /// agent's port opens); WPARs are running when their activation returns either way.
    func activate(reprofile: ResolvedProfile?, wait: Bool) throws(PartitionError)
    /// `wait` false returns once the stop is asked for: the partition then shows `stopping` for up
    /// to `within` seconds.
    func shutdown(within: Int, force: Bool, wait: Bool) throws(PartitionError)
    func force() throws(PartitionError)
    /// Stops (gracefully for up to `within` seconds, killed when that runs out with `force`, at
    /// once with `immediate`) and activates again; a graceful stop that times out without `force`
    /// leaves the partition running and says so (`stopThenStart`).
    func restart(immediate: Bool, within: Int, force: Bool) throws(PartitionError)
    func remove(force: Bool) throws(PartitionError)
    func modify(overrides: ProfileOverrides, live: Bool, config: Bool) throws(PartitionError)
    func consoleLog() throws(PartitionError) -> String
    func attachConsole(_ terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding
    func login(command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32
}

extension PartitionBackend {
    var path: PartitionPath { target.path }
}

extension PartitionBackend {
    /// `restart` for every kind: stopped at once (`immediate`) or by a waiting shutdown, which says
    /// what it waits for itself, then activated and waited for. A graceful stop that times out
    /// without `force` leaves the partition running: one line naming `restart --force`.
    func stopThenStart(immediate: Bool, within: Int, force: Bool) throws(PartitionError) {
        do {
            if immediate {
                progress.waiting(path, "stopping it")
                try self.force()
            } else {
                try shutdown(within: within, force: force, wait: true)
            }
        } catch where error.code == .timeout {
            throw PartitionError(.timeout,
                "It did not stop within \(within) seconds and keeps running, so it was not restarted; add --force to kill it then.")
        }
        progress.waiting(path, "starting it")
        try activate(reprofile: nil, wait: true)
    }
}

/// The refusal of a verb a kind of partition does not have.
func unsupported(_ sentence: String) -> PartitionError {
    PartitionError(.unsupported, sentence)
}
