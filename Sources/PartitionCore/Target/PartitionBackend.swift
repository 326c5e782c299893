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
    /// Whether `verb` applies to this kind of partition: false exactly where the verb throws `.unsupported`.
    func supports(_ verb: PartitionVerb) -> Bool

    func activate(reprofile: ResolvedProfile?) throws(PartitionError)
    func shutdown(within: Int, force: Bool) throws(PartitionError)
    func force() throws(PartitionError)
    func restart(immediate: Bool, within: Int) throws(PartitionError)
    func remove(force: Bool) throws(PartitionError)
    func modify(overrides: ProfileOverrides, live: Bool, config: Bool) throws(PartitionError)
    func consoleLog() throws(PartitionError) -> String
    func attachConsole(_ terminal: any UserTerminal) throws(PartitionError) -> ConsoleEnding
    func login(command: [String], terminal: any UserTerminal) throws(PartitionError) -> Int32
}

extension PartitionBackend {
    var path: PartitionPath { target.path }
}

/// The refusal of a verb a kind of partition does not have.
func unsupported(_ sentence: String) -> PartitionError {
    PartitionError(.unsupported, sentence)
}
