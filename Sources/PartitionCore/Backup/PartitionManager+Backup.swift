import PartitionImages
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

/// What `partctl backup PATH --to FILE.tar` asks for.
public struct BackupRequest: Sendable {
    public var path: PartitionPath
    public var file: String
    /// Back up a running LPAR by pausing it while its disk is copied (refused otherwise).
    public var forceRunning: Bool

    public init(path: PartitionPath, file: String, forceRunning: Bool) {
        self.path = path
        self.file = file
        self.forceRunning = forceRunning
    }
}

public struct BackupReport: Sendable {
    public var path: String
    public var file: String
    /// The archive's own SHA-256 (64 hex digits).
    public var sha256: String
    public var bytes: UInt64
    public var consistency: String
    public var seconds: Double
}

/// What `partctl restore FILE.tar [-m SYSTEM] [--as NAME]` asks for.
public struct RestoreRequest: Sendable {
    public var file: String
    /// The new name; nil keeps the archived one.
    public var name: PartitionName?

    public init(file: String, name: PartitionName?) {
        self.file = file
        self.name = name
    }
}

public struct RestoreReport: Sendable {
    public var path: String
    public var kind: String
    public var system: String
    /// What the restore changed on the way (new MACs instead of fixed ones, ...).
    public var notes: [String]
}

extension PartitionManager {
    /// `backup`: one LPAR (with its nested WPARs' definitions) or one host WPAR into one archive.
    public func backup(_ request: BackupRequest) throws(PartitionError) -> BackupReport {
        let name = try topLevelName(request.path, "backup")
        let started = POSIX.monotonicSeconds()
        let destination = try context(request.path, "backup") { () throws(PartitionError) -> ArchiveDestination in
            try ArchiveDestination(request.file)
        }
        defer { destination.discard() }
        let staged = try withLock(request.path, "backup") { () throws(PartitionError) -> LparArchive.Staged in
            if configuration.isLocal, isHostWpar(name), let target = wpars().target(name) {
                return try WparArchive.stage(target, backend: wpars(), staging: destination.staging)
            }
            let backend = try lpars()
            return try LparArchive.stage(try backend.target(name), backend: backend, staging: destination.staging,
                                         allowRunning: request.forceRunning)
        }
        let kind: BackupManifest.Kind = staged.members.first?.name == WparArchive.definitionMember ? .wpar : .lpar
        let (sha256, bytes) = try context(request.path, "backup") { () throws(PartitionError) -> (String, UInt64) in
            var members: [BackupManifest.Member] = []
            for member in staged.members {
                let (digest, size) = try Self.sha256(ofFile: member.path)
                members.append(BackupManifest.Member(name: member.name, size: size, sha256: digest))
            }
            let manifest = BackupManifest(
                format: BackupManifest.formatName, version: BackupManifest.currentVersion, kind: kind, name: name.rawValue,
                system: configuration.systemName ?? configuration.connectURI, created: Int64(time(nil)),
                state: staged.state, consistency: staged.consistency, profile: staged.profile,
                nested: staged.nested, images: staged.images, members: members)
            return try destination.write(manifest: manifest, members: staged.members)
        }
        return BackupReport(path: request.path.description, file: request.file, sha256: sha256, bytes: bytes,
                            consistency: staged.consistency, seconds: POSIX.monotonicSeconds() - started)
    }

    /// `restore`: the whole archive is read and checked first (VerifiedArchive), then the
    /// partition's definition (LparRestore, WparRestore); only then is anything created.
    public func restore(_ request: RestoreRequest) throws(PartitionError) -> RestoreReport {
        let archive = try context(nil, "restore") { () throws(PartitionError) -> VerifiedArchive in
            try VerifiedArchive.read(request.file, stagingRoot: configuration.stateRoot + "/restore")
        }
        defer { archive.discard() }
        var name: PartitionName
        if let given = request.name { name = given } else { name = try PartitionName(archive.manifest.name) }
        let path = PartitionPath(components: [name])
        let system = configuration.systemName ?? configuration.connectURI
        switch archive.manifest.kind {
        case .lpar:
            let backend = try context(path, "restore") { () throws(PartitionError) -> LparBackend in try lpars() }
            let restore = LparRestore(archive: archive, name: name, backend: backend)
            let notes = try withNamesLock { () throws(PartitionError) -> [String] in
                try withLock(path, "restore", exists: { (try? backend.exists(name)) == true }) { () throws(PartitionError) -> [String] in
                    if configuration.isLocal && isHostWpar(name) {
                        throw PartitionError(.alreadyExists, "A WPAR named '\(name)' already exists on this host; restore it under another name with --as.")
                    }
                    let checked = try restore.check()
                    if let refusal = Self.refusal(try hostProblems(of: checked.resolved, inactiveNetworks: false), profile: checked.resolved.name) {
                        throw refusal
                    }
                    let accelerator = try AccelerationProbe(configuration: configuration).resolve(checked.profile.accel)
                    return try restore.create(checked, accelerator: accelerator)
                }
            }
            return RestoreReport(path: path.description, kind: "lpar", system: system, notes: notes)
        case .wpar:
            guard configuration.isLocal else {
                throw PartitionError(.unsupported,
                    "A host WPAR is restored on the system it runs on: run 'partctl restore' there (host WPARs of \(system) are not reached through libvirt).",
                    partition: path.description, operation: "restore")
            }
            let backend = wpars()
            let restore = WparRestore(archive: archive, name: name, backend: backend)
            // The engine takes the WPAR's own lock in define (as `define` does); the names lock keeps
            // an LPAR of that name from appearing meanwhile.
            try withNamesLock { () throws(PartitionError) in
                try context(path, "restore") { () throws(PartitionError) in
                    if let connection = try? libvirt(), try connection.lookupDomain(name: name.rawValue) != nil {
                        throw PartitionError(.alreadyExists, "An LPAR (libvirt domain) named '\(name)' already exists; restore it under another name with --as.")
                    }
                    let resolved = try restore.check()
                    if let refusal = Self.refusal(resolved.hostProblems() + (try managedNetworkProblems(of: resolved)), profile: resolved.name) {
                        throw refusal
                    }
                    warnIfPrivileged(resolved, path, "restore")
                    try restore.create(resolved)
                }
            }
            return RestoreReport(path: path.description, kind: "wpar", system: system, notes: [])
        }
    }

    /// SHA-256 and size of a staged member.
    static func sha256(ofFile path: String) throws(PartitionError) -> (String, UInt64) {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw POSIX.failure("open \(path)") }
        defer { close(fd) }
        var hash = SHA256()
        var size: UInt64 = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = buffer.withUnsafeMutableBytes { space in POSIX.retryingInterrupts { read(fd, space.baseAddress, 1 << 20) } }
            guard count >= 0 else { throw POSIX.failure("read \(path)") }
            if count == 0 { break }
            buffer.withUnsafeBytes { hash.update(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            size += UInt64(count)
        }
        return (hash.finishHex(), size)
    }
}

/// Where `backup` writes: a staging directory beside the archive for its members, the archive
/// itself written under a temporary name and put in place only when complete (never over an
/// existing file), so a failed or killed backup leaves no archive that looks whole.
struct ArchiveDestination {
    let file: String
    let directory: String
    let staging: String
    let partial: String

    init(_ file: String) throws(PartitionError) {
        guard !file.isEmpty, !file.hasSuffix("/") else { throw PartitionError(.invalidArgument, "--to names no file.") }
        self.file = file
        let slash = file.lastIndex(of: "/")
        directory = slash.map { $0 == file.startIndex ? "/" : String(file[..<$0]) } ?? "."
        let base = slash.map { String(file[file.index(after: $0)...]) } ?? file
        var info = stat()
        if lstat(file, &info) == 0 {
            throw PartitionError(.alreadyExists, "\(file) exists already; choose another file or remove it first.")
        }
        guard stat(directory, &info) == 0, info.st_mode & S_IFMT == S_IFDIR else {
            throw PartitionError(.notFound, "The directory \(directory) of \(file) does not exist.")
        }
        staging = "\(directory)/.\(base).\(getpid()).staging"
        partial = "\(directory)/.\(base).\(getpid()).partial"
        _ = try? TreeRemoval.remove(staging)
        guard mkdir(staging, 0o700) == 0 else { throw POSIX.failure("make \(staging)") }
    }

    /// The archive: the manifest, then each member; its SHA-256 and size.
    func write(manifest: BackupManifest, members: [(name: String, path: String)]) throws(PartitionError) -> (String, UInt64) {
        let fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw POSIX.failure("make \(partial)") }
        defer { close(fd) }
        var writer = TarWriter(fd: fd)
        let now = Int64(time(nil))
        try writer.file(TarWriter.Entry(name: BackupManifest.memberName, type: .file, mtime: now), bytes: try manifest.encoded())
        for (member, listed) in zip(members, manifest.members) {
            let source = open(member.path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard source >= 0 else { throw POSIX.failure("open \(member.path)") }
            defer { close(source) }
            try writer.file(TarWriter.Entry(name: member.name, type: .file, size: listed.size, mtime: now), from: source)
        }
        try writer.finish()
        guard fsync(fd) == 0 else { throw POSIX.failure("write \(partial) to disk") }
        guard link(partial, file) == 0 else {
            if errno == EEXIST { throw PartitionError(.alreadyExists, "\(file) appeared while the backup ran; it was left alone.") }
            throw POSIX.failure("put the archive in place at \(file)")
        }
        return (writer.digest(), writer.written)
    }

    func discard() {
        _ = try? TreeRemoval.remove(staging)
        unlink(partial)
    }
}
