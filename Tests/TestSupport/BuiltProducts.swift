import Foundation

/// The executables under test: $PARTCTL_BIN, $PARTAGENT_BIN and $PARTCTL_SUPERVISOR when set (make
/// test sets the first), else the build directory the test bundle runs from.
public enum BuiltProducts {
    /// The package's root directory (this file is Tests/TestSupport/BuiltProducts.swift).
    public static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    /// The directory of the running test bundle: .build/<triple>/debug.
    public static var directory: String {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent().path
    }

    public static func path(_ variable: String, _ name: String) -> String {
        if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty { return path }
        let beside = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return packageRoot + "/.build/debug/" + name
    }

    public static var partctl: String { path("PARTCTL_BIN", "partctl") }
    public static var partagent: String { path("PARTAGENT_BIN", "partagent") }
    public static var supervisor: String { path("PARTCTL_SUPERVISOR", "partctl-supervisor") }
    public static var probe: String { path("WPAR_PROBE_BIN", "wpar-probe") }
}
