import PartitionModel

/// What a long operation tells its user while it waits (issue 9, part 3). `PartitionManager`
/// says what it waits for; the command layer decides how (or whether) to show it.
public protocol OperationProgress: AnyObject {
    /// A wait begins, or what is waited for changes: "waiting for the agent".
    func waiting(_ path: PartitionPath, _ what: String)
}

/// Shows nothing: the default, for scripts and for every caller that did not ask.
public final class SilentProgress: OperationProgress {
    public init() {}
    public func waiting(_ path: PartitionPath, _ what: String) {}
}
