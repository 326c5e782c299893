/// Clean-up steps run in reverse order when the value goes (also when the test fails or throws
/// before its end): `let cleanup = Cleanup(); cleanup.add { ... }`. Steps must not throw.
public final class Cleanup {
    private var steps: [() -> Void] = []

    public init() {}

    public func add(_ step: @escaping () -> Void) {
        steps.append(step)
    }

    /// Runs the steps now (and not again later).
    public func run() {
        while let step = steps.popLast() { step() }
    }

    deinit { run() }
}

/// Removes a partition that a test made through the partctl command line (`remove --force`),
/// whatever state it is in; refuses anything not named `ptest-…`.
public func removeTestPartition(_ path: String, binary: String = BuiltProducts.partctl) {
    precondition(TestNames.isTestName(path), "tests only remove what they made: \(path)")
    _ = try? TestProcess.run(binary, ["remove", path, "--force"], timeout: 120)
}
