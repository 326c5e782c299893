import Foundation
import PartitionProfiles

/// The fuzzer's profile directory: a private temporary directory (on /dev/shm when there is one, so
/// no disk I/O per input), emptied and refilled for each input. The store searches only it.
final class FuzzProfileFiles {
    /// libFuzzer runs inputs one at a time on one thread.
    nonisolated(unsafe) static let shared = FuzzProfileFiles()

    let directory: String
    private var written: [String] = []

    private init() {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        FuzzProfileFiles.removeLeftovers(in: base)
        var template = Array("\(base)/\(FuzzProfileFiles.prefix)\(getpid())-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { fatalError("FuzzProfiles: cannot make a temporary directory") }
        directory = String(cString: made)
        atexit { FuzzProfileFiles.removeAll(FuzzProfileFiles.shared.directory) }
    }

    /// Writes `files`, runs `body` with a store over them and the first file's path, then removes them.
    func withFiles(_ files: [(name: String, bytes: [UInt8])], _ body: (ProfileStore, String) -> Void) {
        defer {
            for path in written { unlink(path) }
            written.removeAll()
        }
        var first: String?
        for file in files {
            let path = "\(directory)/\(file.name).yaml"
            if first == nil { first = path }
            guard !written.contains(path) else { continue }
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { fatalError("FuzzProfiles: cannot write \(path)") }
            written.append(path)
            let done = file.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard done == file.bytes.count else { fatalError("FuzzProfiles: short write to \(path)") }
        }
        body(ProfileStore(searchPath: [directory]), first!)
    }

    static let prefix = "partctl-fuzz-profiles-"

    /// A fuzzer stopped by a crash or a hang never reaches its atexit: its directory (named with its
    /// pid) is removed by the next one, once no process of that pid runs.
    static func removeLeftovers(in base: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(prefix) {
            guard let pid = Int32(name.dropFirst(prefix.count).prefix { $0 != "-" }),
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            removeAll("\(base)/\(name)")
        }
    }

    static func removeAll(_ directory: String) {
        if let names = try? FileManager.default.contentsOfDirectory(atPath: directory) {
            for name in names { unlink("\(directory)/\(name)") }
        }
        rmdir(directory)
    }
}
