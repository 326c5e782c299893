import CLibvirt
import Glibc
import PartitionModel

/// The one place where libvirt calls are checked.
///
/// Each helper runs one synchronous libvirt call and, when it fails (a negative result or NULL), reads
/// the calling thread's libvirt error at once, before anything else can run on this thread.
enum LibvirtCall {
    /// Runs a call that returns an int; a negative result is a failure.
    static func result(_ function: StaticString, _ call: () -> Int32) -> Result<Int32, LibvirtErrorInfo> {
        LibvirtRuntime.ensureInitialized()
        let value = call()
        return value >= 0 ? .success(value) : .failure(.capture(after: function))
    }

    /// Runs a call that returns a pointer; NULL is a failure.
    static func result<Value>(_ function: StaticString, _ call: () -> Value?) -> Result<Value, LibvirtErrorInfo> {
        LibvirtRuntime.ensureInitialized()
        if let value = call() { return .success(value) }
        return .failure(.capture(after: function))
    }

    @discardableResult
    static func run(_ function: StaticString, _ call: () -> Int32) throws(PartitionError) -> Int32 {
        switch result(function, call) {
        case .success(let value): return value
        case .failure(let info): throw info.partitionError
        }
    }

    static func run<Value>(_ function: StaticString, _ call: () -> Value?) throws(PartitionError) -> Value {
        switch result(function, call) {
        case .success(let value): return value
        case .failure(let info): throw info.partitionError
        }
    }

    /// Runs a call that returns a string the caller must free; the string is copied, then freed.
    static func string(
        _ function: StaticString, _ call: () -> UnsafeMutablePointer<CChar>?
    ) throws(PartitionError) -> String {
        let pointer = try run(function, call)
        defer { free(pointer) }
        return String(cString: pointer)
    }
}

/// Passes an optional Swift string to C as a `const char *` that is NULL for nil.
func withOptionalCString<Result>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> Result) -> Result {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}

/// Decodes a fixed-size, NUL-terminated C character array imported as a tuple.
func stringFromCharArray<Tuple>(_ tuple: Tuple) -> String {
    withUnsafeBytes(of: tuple) { bytes in
        String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
