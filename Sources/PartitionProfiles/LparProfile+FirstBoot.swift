import PartitionModel

/// The first-boot keys of an LPAR profile (hostname, ssh_authorized_keys, user_data): their shapes.
/// Whether user_data exists and is a plain file is a host check (`hostPathProblems`).
extension LparProfile {
    public static let maxAuthorizedKeys = 64
    /// OpenSSH's own limit for one line of authorized_keys is 8 KiB; an RSA-16384 key fits.
    public static let maxKeyBytes = 8192
    /// The key types OpenSSH accepts in authorized_keys.
    public static let sshKeyTypes = [
        "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss",
    ]

    func firstBootProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        if let hostname, let problem = ProfileRules.hostnameProblem(hostname) {
            problems.append(ProfileProblem("hostname", problem))
        }
        if sshAuthorizedKeys.count > LparProfile.maxAuthorizedKeys {
            problems.append(ProfileProblem("ssh_authorized_keys",
                "has \(sshAuthorizedKeys.count) keys; an LPAR takes at most \(LparProfile.maxAuthorizedKeys)."))
        }
        for (index, key) in sshAuthorizedKeys.enumerated() {
            if let problem = LparProfile.sshKeyProblem(key) {
                problems.append(ProfileProblem("ssh_authorized_keys[\(index)]", problem))
            }
        }
        if let userData, let problem = ProfileRules.absolutePathProblem(userData) {
            problems.append(ProfileProblem("user_data", problem))
        }
        return problems
    }

    /// One OpenSSH public key: `TYPE BASE64 [COMMENT]` on one line, the blob naming the same type.
    /// Options before the type (`from=...`, `command=...`) are refused: they belong in the guest's own file.
    static func sshKeyProblem(_ key: String) -> String? {
        if key.utf8.count > maxKeyBytes { return "is \(key.utf8.count) bytes long; a key line has at most \(maxKeyBytes)." }
        if ProfileRules.hasControlCharacters(key) { return "contains a line break or another control character; give one key per item." }
        let words = key.split(separator: " ", omittingEmptySubsequences: true)
        let shown = ProfileRules.quoted(String(key.prefix(40)) + (key.count > 40 ? "..." : ""))
        guard words.count >= 2, sshKeyTypes.contains(String(words[0])) else {
            return "\(shown) is not an OpenSSH public key; write 'TYPE KEY [COMMENT]' with TYPE one of \(sshKeyTypes.prefix(5).joined(separator: ", ")), ... (the line of a .pub file)."
        }
        guard let blob = Base64Text.decode(String(words[1])), blob.count >= 4 else {
            return "the key of \(shown) is not base64."
        }
        // The blob starts with the type's name, length-prefixed (RFC 4253, 6.6).
        let length = Int(blob[0]) << 24 | Int(blob[1]) << 16 | Int(blob[2]) << 8 | Int(blob[3])
        guard blob.count >= 4 + length, String(decoding: blob[4..<(4 + length)], as: UTF8.self) == String(words[0]) else {
            return "the key of \(shown) is not a \(words[0]) key (its data names another type or is cut short)."
        }
        return nil
    }
}

/// Standard base64 (with padding), strictly: anything else is nil.
enum Base64Text {
    static func decode(_ text: String) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count / 4 * 3)
        var buffer: UInt32 = 0
        var bits = 0
        var padding = 0
        for (index, byte) in bytes.enumerated() {
            let value: UInt32
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(byte - UInt8(ascii: "a")) + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt32(byte - UInt8(ascii: "0")) + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "=") where index >= bytes.count - 2:
                padding += 1
                continue
            default: return nil
            }
            if padding > 0 { return nil }
            buffer = buffer << 6 | value
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xff))
            }
        }
        return out
    }
}
