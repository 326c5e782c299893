import Glibc

/// Names of what tests make: always `ptest-…`, so a test can tell its own partitions, cgroups and
/// domains from anything else on the host, and never touches the others.
public enum TestNames {
    public static let prefix = "ptest-"

    /// A name no other test (nor another run) uses, within partctl's 32 characters:
    /// `ptest-<purpose>-<8 hex digits>`, the purpose shortened when it is long.
    public static func unique(_ purpose: String) -> String {
        let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let padded = String(repeating: "0", count: 8 - suffix.count) + suffix
        let room = 32 - prefix.count - 1 - padded.count
        return prefix + String(purpose.prefix(room)) + "-" + padded
    }

    /// Whether `name` is a test's own (the guard before removing anything).
    public static func isTestName(_ name: String) -> Bool {
        name.hasPrefix(prefix) || name.split(separator: "/").last.map { $0.hasPrefix(prefix) } == true
    }
}
