import CLibvirt

/// Process-wide libvirt set-up that must happen once, before the first connection.
enum LibvirtRuntime {
    /// Initialises libvirt for a multithreaded program and silences its default error printer, which
    /// would otherwise write every error to stderr behind the caller's back. Errors still reach us
    /// through virGetLastError.
    private static let initialized: Void = {
        _ = virInitialize()
        virSetErrorFunc(nil) { _, _ in }
    }()

    static func ensureInitialized() { _ = initialized }
}
