import Foundation
import PartitionModel

/// The password of an LPAR's display, read from the file its profile names. The file must be the
/// administrator's secret: a regular file owned by root that no one else may read (0600 or 0400),
/// opened without following a symbolic link. Its first line is the password.
public enum GraphicsPassword {
    public static func read(_ graphics: GraphicsSpec) throws(PartitionError) -> String? {
        guard let path = graphics.passwordFile else { return nil }
        let fail = { (text: String) in PartitionError(.invalidProfile, "graphics.password_file: '\(path)' \(text)") }
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else {
            throw errno == ELOOP ? fail("is a symbolic link; name the file itself.")
                : fail("cannot be opened: \(String(cString: strerror(errno))).")
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { throw fail("is not a regular file.") }
        guard info.st_uid == 0, info.st_mode & 0o077 == 0 else {
            throw fail("must be owned by root and readable by root only (chown root: and chmod 600 it).")
        }
        let bytes = [UInt8]((try? handle.read(upToCount: 4096)) ?? Data())
        let line = bytes.prefix { $0 != UInt8(ascii: "\n") }
        guard !line.isEmpty else { throw fail("is empty; its first line is the password.") }
        guard line.allSatisfy({ $0 >= 0x20 && $0 != 0x7f }), let password = String(validating: line, as: UTF8.self) else {
            throw fail("holds a control character or is not UTF-8 text.")
        }
        if graphics.kind == .vnc && line.count > GraphicsSpec.vncPasswordLimit {
            throw fail("holds a password of \(line.count) bytes; VNC uses at most \(GraphicsSpec.vncPasswordLimit).")
        }
        return password
    }
}
