import PartitionModel

/// Checks of single values that profiles of both kinds share. Each returns the problem as the end of a
/// sentence whose subject is the key path (`"is not absolute."`), or nil when the value is fine.
enum ProfileRules {
    static let maxPathLength = 4096

    // MARK: Paths

    /// An absolute path in normal form: no empty, `.` or `..` components, no trailing `/`, no control
    /// characters. Normal form makes the checks below mean what they say (`/tmp/../etc` cannot slip by).
    static func absolutePathProblem(_ path: String) -> String? {
        let shown = ProfileRules.quoted(path)
        if path.isEmpty { return "must not be empty." }
        if hasControlCharacters(path) { return "\(shown) contains a control character." }
        if path.utf8.count > maxPathLength { return "is longer than \(maxPathLength) bytes." }
        guard path.hasPrefix("/") else { return "\(shown) is not an absolute path; start it with '/'." }
        if path == "/" { return nil }
        if path.hasSuffix("/") { return "\(shown) ends with '/'; write it without." }
        for component in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if component.isEmpty { return "\(shown) contains '//'." }
            if component == "." || component == ".." { return "\(shown) contains '\(component)'; write the path without it." }
        }
        return nil
    }

    /// True when `path` is `directory` or lies below it (both in normal form).
    static func isWithin(_ path: String, _ directory: String) -> Bool {
        directory == "/" || path == directory || path.hasPrefix(directory + "/")
    }

    /// A host path that must never back a disk image: system trees, runtime state, devices, kernels.
    static let diskForbiddenRoots = ["/etc", "/proc", "/sys", "/dev", "/run", "/var/run", "/boot"]

    /// Where a kernel or initrd may not come from (kernels do live in /boot, so that one is allowed).
    static let kernelForbiddenRoots = ["/etc", "/proc", "/sys", "/dev", "/run", "/var/run"]

    /// Host paths a WPAR must never see, with the reason, in the order they are checked.
    static let wparHiddenPaths: [(path: String, reason: String)] = [
        ("/proc", "the host's kernel interfaces"),
        ("/sys", "the host's kernel interfaces"),
        ("/dev", "the host's devices"),
        ("/run", "host runtime state and sockets, libvirt's among them"),
        ("/var/run", "host runtime state and sockets, libvirt's among them"),
        ("/boot", "the host's kernels and boot loader"),
        ("/root", "root's home directory"),
        ("/etc/shadow", "password hashes"),
        ("/etc/shadow-", "password hashes"),
        ("/etc/gshadow", "password hashes"),
        ("/etc/gshadow-", "password hashes"),
        ("/etc/security/opasswd", "old password hashes"),
        ("/etc/sudoers", "sudo's rules"),
        ("/etc/sudoers.d", "sudo's rules"),
        ("/etc/ssh", "the host's SSH keys"),
        ("/etc/ssl/private", "private keys"),
        ("/etc/libvirt", "libvirt's configuration"),
        ("/var/lib/libvirt", "libvirt's state"),
        ("/etc/partctl", "partctl's configuration"),
        ("/var/lib/partctl", "partctl's state"),
    ]

    /// Refuses a host path that is, lies inside, or contains one a WPAR must not see: bind-mounting
    /// `/var` would show `/var/lib/libvirt` just as well. `allowed` lists exceptions (a rootfs may live in
    /// `/var/lib/partctl/rootfs`).
    static func wparHostPathProblem(_ path: String, allowing allowed: [String] = []) -> String? {
        if allowed.contains(where: { isWithin(path, $0) }) { return nil }
        if path == "/" { return "'/' is the host's whole file system, which a WPAR must not see." }
        for (hidden, reason) in wparHiddenPaths {
            if isWithin(path, hidden) {
                return path == hidden ? "'\(path)' holds \(reason), which a WPAR must not see."
                    : "'\(path)' lies inside \(hidden) (\(reason)), which a WPAR must not see."
            }
            if isWithin(hidden, path), !allowed.contains(where: { isWithin(hidden, $0) }) {
                return "'\(path)' contains \(hidden) (\(reason)), which a WPAR must not see."
            }
        }
        return nil
    }

    // MARK: Names and addresses

    /// Quotes text from a profile for a message: control characters made visible, long text cut at 200
    /// characters (paths must stay readable, unlike names).
    static func quoted(_ text: String) -> String { QuotedText.of(text, limit: 200) }

    static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }

    /// A libvirt network or host bridge name: letters, digits, `-`, `_`, `.`; not starting with `-` or `.`.
    static func interfaceNameProblem(_ name: String, maxLength: Int) -> String? {
        let shown = ProfileRules.quoted(name)
        if name.isEmpty { return "must not be empty." }
        if name.utf8.count > maxLength { return "\(shown) is longer than \(maxLength) characters." }
        let allowed = name.unicodeScalars.allSatisfy {
            $0.isASCII && (($0.properties.isAlphabetic || ("0"..."9").contains($0)) || "-_.".unicodeScalars.contains($0))
        }
        if !allowed { return "\(shown) may contain only letters, digits, '-', '_' and '.'." }
        if name.hasPrefix("-") || name.hasPrefix(".") { return "\(shown) must not start with '-' or '.'." }
        return nil
    }

    /// `52:54:00:12:34:56`: six hexadecimal pairs, a unicast address, not all zero.
    static func macProblem(_ mac: String) -> String? {
        let shown = ProfileRules.quoted(mac)
        let octets = mac.split(separator: ":", omittingEmptySubsequences: false).compactMap { part in
            part.count == 2 && part.allSatisfy(\.isHexDigit) ? UInt8(part, radix: 16) : nil
        }
        guard octets.count == 6, mac.utf8.count == 17 else {
            return "\(shown) is not a MAC address; write six hexadecimal pairs like 52:54:00:12:34:56."
        }
        if octets[0] & 1 == 1 { return "\(shown) is a multicast address; an adapter needs a unicast one (even first byte)." }
        if octets.allSatisfy({ $0 == 0 }) { return "\(shown) is all zero." }
        return nil
    }

    /// A host name: dot-separated labels of letters, digits and inner `-`, at most 64 characters.
    static func hostnameProblem(_ name: String) -> String? {
        let shown = ProfileRules.quoted(name)
        if name.isEmpty { return "must not be empty." }
        if name.utf8.count > 64 { return "\(shown) is longer than 64 characters." }
        for label in name.split(separator: ".", omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.utf8.count <= 63,
                  label.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }),
                  !label.hasPrefix("-"), !label.hasSuffix("-") else {
                return "\(shown) is not a host name; use letters, digits and '-' in dot-separated parts."
            }
        }
        return nil
    }

    /// An IPv4 address in dotted-quad form, as 32 bits; leading zeros are refused (octal ambiguity).
    static func parseIPv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  part == "0" || !part.hasPrefix("0"), let octet = UInt32(part), octet <= 255 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    /// `10.77.0.2/24` as (address, prefix length).
    static func parseIPv4Interface(_ text: String) -> (address: UInt32, prefix: Int)? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = parseIPv4(String(parts[0])),
              parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let prefix = Int(parts[1]),
              (1...32).contains(prefix) else { return nil }
        return (address, prefix)
    }

    static func ipv4Mask(prefix: Int) -> UInt32 {
        prefix == 0 ? 0 : UInt32.max << UInt32(32 - prefix)
    }

    /// An environment variable name: a letter or `_`, then letters, digits and `_`.
    static func environmentNameProblem(_ name: String) -> String? {
        guard let first = name.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || first == "_",
              name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_") }),
              name.utf8.count <= 256 else {
            return "\(ProfileRules.quoted(name)) is not a variable name; use letters, digits and '_', not starting with a digit."
        }
        return nil
    }
}
