import PartitionModel
import PartitionProfiles
import SystemKit
import WorkloadEngine
#if canImport(Glibc)
import Glibc
#endif

/// An LPAR's first boot, handed to cloud-init as a NoCloud seed: an ISO 9660 volume labelled
/// `cidata` with `meta-data` (instance-id = the domain's UUID, local-hostname) and `user-data`
/// (the profile's host name and SSH keys, merged with its `user_data` file).
struct FirstBootSeed {
    /// The largest user_data file partctl passes on.
    static let maxUserDataBytes = 1 << 20

    var metaData: String
    var userData: String

    init(profile: LparProfile, lpar: PartitionName, uuid: String) throws(PartitionError) {
        let hostname = profile.hostname ?? lpar.rawValue
        metaData = "instance-id: \(uuid)\nlocal-hostname: \(hostname)\n"
        let userText = try profile.userData.map { path throws(PartitionError) in try FirstBootSeed.readUserFile(path) }
        userData = try CloudConfigMerge.userData(hostname: hostname, keys: profile.sshAuthorizedKeys, userText: userText)
    }

    /// The user's file, opened component by component without following a symbolic link, checked
    /// to be a regular file as opened, read to at most `maxUserDataBytes`.
    static func readUserFile(_ path: String) throws(PartitionError) -> String {
        guard path.hasPrefix("/") else { throw PartitionError(.invalidProfile, "user_data: '\(path)' is not an absolute path.") }
        var fd = open("/", O_PATH_ONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIX.failure("open /", errno: errno) }
        let components = path.split(separator: "/")
        for (index, component) in components.enumerated() {
            let last = index == components.count - 1
            let next = openat(fd, String(component), (last ? O_RDONLY | O_NONBLOCK : O_PATH_ONLY | O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC)
            let code = errno
            close(fd)
            guard next >= 0 else {
                switch code {
                case ENOENT: throw PartitionError(.invalidProfile, "user_data: '\(path)' does not exist.")
                case ELOOP, ENOTDIR:
                    throw PartitionError(.invalidProfile, "user_data: '\(path)' goes through a symbolic link or a non-directory; give the file's real path.")
                default: throw POSIX.failure("open \(path)", errno: code)
                }
            }
            fd = next
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw POSIX.failure("inspect \(path)", errno: errno) }
        guard info.st_mode & S_IFMT == S_IFREG else { throw PartitionError(.invalidProfile, "user_data: '\(path)' is not a regular file.") }
        guard info.st_size <= maxUserDataBytes else {
            throw PartitionError(.invalidProfile, "user_data: '\(path)' is \(info.st_size) bytes; partctl passes on at most \(maxUserDataBytes).")
        }
        switch FileIO.readAll(fd, limit: maxUserDataBytes) {
        case .success(let bytes):
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw PartitionError(.invalidProfile, "user_data: '\(path)' is not UTF-8 text.")
            }
            return text
        case .failure(let error):
            throw POSIX.failure("read \(path)", errno: error.rawValue)
        }
    }

    /// Writes the two files and makes the ISO (label `cidata`) with xorriso or genisoimage in a
    /// private directory below `runtimeRoot`; returns the ISO's path and the directory to remove.
    func makeISO(runtimeRoot: String) throws(PartitionError) -> (iso: String, directory: String) {
        guard let tool = HostProgram.find(["/usr/bin/xorriso", "/usr/bin/genisoimage"]) else {
            throw PartitionError(.unavailable, "Making an LPAR's first-boot seed needs xorriso or genisoimage; install one ('make setup').")
        }
        let parent = try StateDirectory.ensureRuntime("seeds", below: runtimeRoot)
        var template = Array((parent + "/seed.XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw POSIX.failure("make a directory in \(parent)", errno: errno) }
        let directory = String(cString: made)
        do throws(PartitionError) {
            try AtomicFile.write(Array(metaData.utf8), to: directory + "/meta-data", mode: 0o600, durable: false)
            try AtomicFile.write(Array(userData.utf8), to: directory + "/user-data", mode: 0o600, durable: false)
            let iso = directory + "/seed.iso"
            var arguments = [tool]
            if tool.hasSuffix("xorriso") { arguments += ["-as", "genisoimage"] }
            arguments += ["-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", directory + "/user-data", directory + "/meta-data"]
            let outcome = try HostProgram(arguments).run()
            guard outcome.status == 0 else {
                throw PartitionError(.system, "\(tool) could not make the first-boot seed: \(outcome.lastLine)")
            }
            return (iso, directory)
        } catch {
            FirstBootSeed.removeDirectory(directory)
            throw error
        }
    }

    static func removeDirectory(_ directory: String) {
        for name in ["meta-data", "user-data", "seed.iso"] { _ = unlink(directory + "/" + name) }
        _ = rmdir(directory)
    }
}

/// O_PATH (Linux), which Swift's Glibc module hides behind _GNU_SOURCE.
let O_PATH_ONLY: Int32 = 0o10000000
