import Glibc

/// The kernel's random id of the current boot. A process identity recorded under another boot id
/// names a process of an earlier boot: `/run` may survive a reboot on these machines, so an empty
/// `/run` is no evidence of one.
public enum BootID {
    private static let cached: String = {
        let text = FileIO.readText("/proc/sys/kernel/random/boot_id", limit: 128) ?? ""
        return String(text.filter { !$0.isWhitespace })
    }()

    /// The boot id, e.g. "5f1c…-…"; empty when /proc is not mounted.
    public static func current() -> String { cached }
}
