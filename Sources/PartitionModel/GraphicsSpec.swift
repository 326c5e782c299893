/// A remote display protocol for an LPAR's screen.
public enum GraphicsKind: String, Sendable, Codable, CaseIterable {
    case vnc
    case spice
}

/// The emulated graphics card. `vga` (QEMU's standard VGA) is what BIOS menus, boot loaders and
/// installers draw on; `bochs` is the same without legacy VGA for UEFI guests; `virtio` needs a
/// guest driver (Linux has one).
public enum VideoModel: String, Sendable, Codable, CaseIterable {
    case vga
    case bochs
    case virtio
}

/// A graphical console: a display served by QEMU on the managed system's loopback address only,
/// on a port libvirt picks (autoport), with an optional password read from a root-only file.
public struct GraphicsSpec: Sendable, Codable, Hashable {
    public var kind: GraphicsKind
    public var video: VideoModel
    /// A file (owned by root, mode 0600 or 0400) holding the password; nil for none. The password
    /// itself never enters the profile, the stored definition or any output.
    public var passwordFile: String?

    /// The only address the display listens on: reach it from elsewhere through an SSH tunnel.
    public static let listenAddress = "127.0.0.1"
    /// VNC's own authentication uses the first 8 bytes of a password only.
    public static let vncPasswordLimit = 8

    public init(kind: GraphicsKind, video: VideoModel = .vga, passwordFile: String? = nil) {
        self.kind = kind
        self.video = video
        self.passwordFile = passwordFile
    }
}
