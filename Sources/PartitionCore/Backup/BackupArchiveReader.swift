import Glibc
import PartitionImages
import PartitionModel
import SystemKit
import WorkloadEngine

/// A backup archive read once from start to end and checked whole before `restore` creates
/// anything: `manifest.json` first and in the form partctl writes, then only the members it lists,
/// each a plain regular file with a plain name, of the size and SHA-256 it gives, each exactly once,
/// and nothing after the end marker. Members are copied into a private staging directory as they
/// are hashed, so that what is restored is what was checked (the archive file may change after).
struct VerifiedArchive {
    let manifest: BackupManifest
    /// The archive's name for messages (its file name).
    let label: String
    /// The staging directory (0700) and the staged copy of each member by name.
    let staging: String
    let members: [String: String]

    /// Opens and checks `path`; on a refusal the staging directory is gone again.
    static func read(_ path: String, stagingRoot: String) throws(PartitionError) -> VerifiedArchive {
        let label = path.split(separator: "/").last.map(String.init) ?? path
        func refuse(_ what: String) -> PartitionError { PartitionError(.invalidArgument, "\(label): \(what).") }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { throw PartitionError(.notFound, "\(label): no such file (\(path)).") }
            if errno == ELOOP { throw refuse("is a symbolic link; give the archive's own path") }
            throw POSIX.failure("open the archive \(path)")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw refuse("is not a regular file") }

        try StateDirectory.ensure(stagingRoot, mode: 0o700)
        var template = Array((stagingRoot + "/restore.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIX.failure("make a staging directory in \(stagingRoot)") }
        let staging = String(cString: made)
        do throws(PartitionError) {
            var reader = TarReader(fd: fd, label: label)
            guard let first = try reader.next() else { throw refuse("is an empty archive") }
            guard first.name == BackupManifest.memberName, first.isRegular else {
                throw refuse("its first member is \(QuotedText.of(first.name)), not \(BackupManifest.memberName): it is not a partctl backup")
            }
            guard first.size <= UInt64(BackupManifest.sizeLimit) else { throw refuse("its manifest is \(first.size) bytes, more than a manifest can be") }
            var bytes: [UInt8] = []
            while true {
                let chunk = try reader.read(upTo: BackupManifest.sizeLimit)
                if chunk.isEmpty { break }
                bytes += chunk
            }
            let manifest = try BackupManifest.decode(bytes, label: label)
            var expected: [String: BackupManifest.Member] = [:]
            for member in manifest.members { expected[member.name] = member }
            var members: [String: String] = [:]
            while let entry = try reader.next() {
                let shown = QuotedText.of(entry.name)
                if entry.name.hasPrefix("/") { throw refuse("has the member \(shown), an absolute path") }
                if entry.name.split(separator: "/").contains("..") { throw refuse("has the member \(shown), whose '..' climbs out of the archive") }
                if entry.name.contains("/") { throw refuse("has the member \(shown) in a directory; a backup's members have plain names") }
                guard entry.isRegular else { throw refuse("has the member \(shown), a \(entry.typeName); a backup holds only regular files") }
                guard let listed = expected[entry.name] else {
                    throw refuse(members[entry.name] != nil || entry.name == BackupManifest.memberName
                                 ? "has the member \(entry.name) twice" : "has the member \(shown), which its manifest does not list")
                }
                guard entry.size == listed.size else {
                    throw refuse("member \(entry.name) is \(entry.size) bytes, the manifest says \(listed.size)")
                }
                let target = staging + "/" + entry.name
                let out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
                guard out >= 0 else { throw POSIX.failure("stage the member \(entry.name)") }
                var hash = SHA256()
                do throws(PartitionError) {
                    try reader.forEachChunk { (chunk) throws(PartitionError) in
                        hash.update(chunk)
                        guard FileIO.writeAll(out, chunk) else { throw POSIX.failure("stage the member \(entry.name)") }
                    }
                } catch {
                    close(out)
                    throw error
                }
                close(out)
                let digest = hash.finishHex()
                guard digest == listed.sha256 else {
                    throw refuse("member \(entry.name) has SHA-256 \(digest), the manifest says \(listed.sha256)")
                }
                members[entry.name] = target
                expected[entry.name] = nil
            }
            if let missing = manifest.members.first(where: { expected[$0.name] != nil }) {
                throw refuse("its manifest lists the member \(missing.name), which the archive does not hold")
            }
            return VerifiedArchive(manifest: manifest, label: label, staging: staging, members: members)
        } catch {
            _ = try? TreeRemoval.remove(staging)
            throw error
        }
    }

    /// Removes the staged copies.
    func discard() {
        _ = try? TreeRemoval.remove(staging)
    }

    /// The staged member's bytes (a definition), at most `limit`.
    func bytes(of member: String, limit: Int) throws(PartitionError) -> [UInt8] {
        guard let path = members[member] else {
            throw PartitionError(.invalidArgument, "\(label): the archive holds no \(member).")
        }
        switch FileIO.readFile(path, limit: limit) {
        case .success(let bytes): return bytes
        case .failure(let error): throw POSIX.failure("read the staged \(member)", errno: error.rawValue)
        }
    }
}
