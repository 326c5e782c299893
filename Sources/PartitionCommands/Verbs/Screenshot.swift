import ArgumentParser
import PartitionCore
import PartitionModel
import SystemKit
#if canImport(Glibc)
import Glibc
#endif

struct Screenshot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "screenshot",
        abstract: "Save what a running LPAR's screen shows as a PNG file (an LPAR with graphics: vnc or spice).",
        discussion: "Example: partctl screenshot lp1 /tmp/lp1.png. An existing file is replaced only with --force.")

    @Argument(help: "The LPAR's path.", completion: .partitionPath) var path: String
    @Argument(help: "The PNG file to write.", completion: .file(extensions: ["png"])) var file: String
    @Flag(name: .long, help: "Replace the file if it exists.") var force = false
    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let target = try partitionPath(path, "screenshot")
        do throws(PartitionError) {
            try Self.checkDestination(file, force: force)
        } catch {
            throw error.with(partition: target.description, operation: "screenshot")
        }
        let shot = try connection.manager().screenshot(target)
        do throws(PartitionError) {
            try Self.write(try ScreenImage.png(fromScreenshot: shot.bytes, mimeType: shot.mimeType), to: file, force: force)
        } catch {
            throw error.with(partition: target.description, operation: "screenshot")
        }
    }

    /// Refused before the screen is read: a directory, and an existing file without --force.
    static func checkDestination(_ file: String, force: Bool) throws(PartitionError) {
        var info = stat()
        guard lstat(file, &info) == 0 else { return }
        if info.st_mode & S_IFMT == S_IFDIR {
            throw PartitionError(.invalidArgument, "'\(file)' is a directory; name the PNG file to write.")
        }
        if !force {
            throw PartitionError(.alreadyExists, "'\(file)' exists; add --force to replace it.")
        }
        if info.st_mode & S_IFMT != S_IFREG && info.st_mode & S_IFMT != S_IFLNK {
            throw PartitionError(.invalidArgument, "'\(file)' is not a regular file.")
        }
    }

    /// A new file is created exclusively (never through a symbolic link); with --force the file is
    /// replaced by a rename, so a reader never sees half an image.
    static func write(_ png: [UInt8], to file: String, force: Bool) throws(PartitionError) {
        if force { return try AtomicFile.write(png, to: file, mode: 0o644) }
        let fd = POSIX.retryingInterrupts { open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        guard fd >= 0 else {
            if errno == EEXIST { throw PartitionError(.alreadyExists, "'\(file)' exists; add --force to replace it.") }
            throw POSIX.failure("create \(file)")
        }
        defer { close(fd) }
        guard FileIO.writeAll(fd, png) else {
            let failure = POSIX.failure("write \(file)")
            unlink(file)
            throw failure
        }
    }
}
