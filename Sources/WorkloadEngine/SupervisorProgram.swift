import Glibc
import PartitionModel

/// Where the `partctl-supervisor` executable is: `$PARTCTL_SUPERVISOR`, next to the running
/// executable (the build directory), in ../libexec/partctl relative to it (`make install` with any
/// PREFIX), or a libexec directory.
enum SupervisorProgram {
    static let variable = "PARTCTL_SUPERVISOR"
    static let fileName = "partctl-supervisor"

    static func locate() throws(PartitionError) -> String {
        var candidates: [String] = []
        if let explicit = getenv(variable).map({ String(cString: $0) }), !explicit.isEmpty { candidates.append(explicit) }
        if let executable = HostSystem.realPath("/proc/self/exe"), let slash = executable.lastIndex(of: "/") {
            let directory = executable[..<slash]
            // Beside it (a build directory), or PREFIX/libexec/partctl for PREFIX/bin/partctl (make install).
            candidates.append(directory + "/" + fileName)
            candidates.append(directory + "/../libexec/partctl/" + fileName)
        }
        candidates += ["/usr/local/libexec/partctl/\(fileName)", "/usr/libexec/partctl/\(fileName)", "/usr/local/bin/\(fileName)"]
        for candidate in candidates where access(candidate, X_OK) == 0 && HostSystem.fileType(candidate) == .regular {
            return candidate
        }
        throw PartitionError(.unavailable,
            "The WPAR supervisor (\(fileName)) was not found next to partctl or in /usr/local/libexec/partctl; install it or set \(variable).")
    }
}
