import Glibc
import PartitionModel
import SystemKit
import WorkloadEngine

/// An OCI image config's process defaults (Entrypoint, Cmd, Env, WorkingDir, User) as the
/// defaults of an application WPAR, with what the profile or the command line sets on top, as
/// `docker run` does: arguments replace Cmd and keep Entrypoint, the profile's environment wins
/// over the image's, and User is resolved through the image's own /etc/passwd and /etc/group.
struct OciProcessDefaults {
    var entrypoint: [String]?
    var cmd: [String]?
    var env: [String]
    var workdir: String?
    var user: String?

    static let defaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    /// Entrypoint + Cmd, with `arguments` (when given) in place of Cmd.
    func command(replacingCmdWith arguments: [String]) throws(PartitionError) -> [String] {
        let command = (entrypoint ?? []) + (arguments.isEmpty ? (cmd ?? []) : arguments)
        guard !command.isEmpty else {
            throw PartitionError(.invalidArgument,
                "The image has neither Entrypoint nor Cmd: give the command (partctl run --image NAME -- CMD..., or command: in the profile).")
        }
        return command
    }

    /// The image's Env with the profile's entries on top (same key: the profile's), PATH when
    /// neither has one, HOME from the user's passwd entry when neither sets it.
    func environment(profile: [String: String], home: String?) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ key: String, _ value: String) {
            if values[key] == nil { order.append(key) }
            values[key] = value
        }
        for entry in env {
            guard let equals = entry.firstIndex(of: "="), equals != entry.startIndex else { continue }
            set(String(entry[..<equals]), String(entry[entry.index(after: equals)...]))
        }
        for key in profile.keys.sorted() { set(key, profile[key]!) }
        var result = order.map { "\($0)=\(values[$0]!)" }
        if values["PATH"] == nil { result.insert(Self.defaultPath, at: 0) }
        if values["HOME"] == nil { result.append("HOME=\(home ?? "/")") }
        return result
    }

    /// The process's IDs and home directory inside the image whose root is `root`.
    func resolveUser(root: String) throws(PartitionError) -> (user: WorkloadUser?, home: String?) {
        guard let spec = user, !spec.isEmpty else { return (nil, Self.passwd(root: root)?.first { $0.uid == 0 }?.home) }
        let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let userPart = parts[0]
        let groupPart = parts.count > 1 ? parts[1] : nil
        guard !userPart.isEmpty, groupPart.map({ !$0.isEmpty }) ?? true else {
            throw PartitionError(.invalidArgument, "The image's User \(QuotedText.of(spec)) is not of the form user[:group].")
        }
        let passwd = Self.passwd(root: root) ?? []
        var uid: UInt32
        var gid: UInt32 = 0
        var home: String?
        var name: String?
        if let number = UInt32(userPart) {
            uid = number
            if let entry = passwd.first(where: { $0.uid == number }) {
                gid = entry.gid
                home = entry.home
                name = entry.name
            }
        } else {
            guard let entry = passwd.first(where: { $0.name == userPart }) else {
                throw PartitionError(.invalidArgument, "The image's User \(QuotedText.of(userPart)) is not in the image's /etc/passwd.")
            }
            uid = entry.uid
            gid = entry.gid
            home = entry.home
            name = entry.name
        }
        let groups = Self.groups(root: root) ?? []
        var supplementary: [UInt32] = []
        if let groupPart {
            if let number = UInt32(groupPart) {
                gid = number
            } else {
                guard let entry = groups.first(where: { $0.name == groupPart }) else {
                    throw PartitionError(.invalidArgument, "The image's User group \(QuotedText.of(groupPart)) is not in the image's /etc/group.")
                }
                gid = entry.gid
            }
        } else if let name {
            // As runc: without a group, the user's own groups from /etc/group come along.
            supplementary = groups.filter { $0.members.contains(name) && $0.gid != gid }.map(\.gid)
        }
        return (WorkloadUser(uid: uid, gid: gid, groups: supplementary), home)
    }

    // MARK: The image's own files

    struct PasswdEntry { var name: String; var uid: UInt32; var gid: UInt32; var home: String }
    struct GroupEntry { var name: String; var gid: UInt32; var members: [String] }

    static func passwd(root: String) -> [PasswdEntry]? {
        lines(root: root, "passwd")?.compactMap { fields in
            guard fields.count >= 6, let uid = UInt32(fields[2]), let gid = UInt32(fields[3]) else { return nil }
            return PasswdEntry(name: fields[0], uid: uid, gid: gid, home: fields[5].isEmpty ? "/" : fields[5])
        }
    }

    static func groups(root: String) -> [GroupEntry]? {
        lines(root: root, "group")?.compactMap { fields in
            guard fields.count >= 3, let gid = UInt32(fields[2]) else { return nil }
            let members = fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : []
            return GroupEntry(name: fields[0], gid: gid, members: members)
        }
    }

    /// `<root>/etc/<name>` split into colon-separated fields, opened one component at a time
    /// without following any symlink (a link planted in the image leads nowhere); nil when it
    /// is missing, not a regular file or larger than 1 MiB.
    static func lines(root: String, _ name: String) -> [[String]]? {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        let etc = openat(rootFD, "etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)
        guard etc >= 0 else { return nil }
        defer { close(etc) }
        let fd = openat(etc, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG,
              case .success(let bytes) = FileIO.readAll(fd, limit: 1 << 20) else { return nil }
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line -> [String]? in
            guard line.first != UInt8(ascii: "#") else { return nil }
            return line.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        }
    }
}
