import Glibc

/// glibc's flistxattr, fgetxattr and fsetxattr: <sys/xattr.h> is not part of Swift's Glibc module,
/// and a C target of the agent's own for three calls would be more than this lookup. partagent links
/// glibc dynamically, so the symbols are there; nil where not (the layer then moves without them).
enum Xattr {
    private typealias List = @convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int
    private typealias Get = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeMutableRawPointer?, Int) -> Int
    private typealias Set = @convention(c) (Int32, UnsafePointer<CChar>, UnsafeRawPointer?, Int, Int32) -> Int32

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        guard let pointer = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else { return nil }  // RTLD_DEFAULT
        return unsafeBitCast(pointer, to: type)
    }

    private static let listCall = symbol("flistxattr", as: List.self)
    private static let getCall = symbol("fgetxattr", as: Get.self)
    private static let setCall = symbol("fsetxattr", as: Set.self)

    static func list(_ fd: Int32, _ buffer: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int {
        listCall?(fd, buffer, size) ?? -1
    }

    static func get(_ fd: Int32, _ name: String, _ buffer: UnsafeMutableRawPointer?, _ size: Int) -> Int {
        getCall?(fd, name, buffer, size) ?? -1
    }

    /// -1 with errno ENOTSUP where the call is missing.
    static func set(_ fd: Int32, _ name: String, _ value: [UInt8]) -> Int32 {
        guard let setCall else {
            errno = ENOTSUP
            return -1
        }
        return value.withUnsafeBytes { setCall(fd, name, $0.baseAddress, $0.count, 0) }
    }
}
