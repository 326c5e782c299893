import Foundation
import Glibc
@testable import WorkloadEngine

/// Runs `wpar-probe` (built next to the test bundle) against a sandbox's state, as a separate
/// process that a test may let die at a fault point.
enum ProbeProcess {
    static var executable: String {
        let bundle = HostSystem.realPath("/proc/self/exe") ?? ""
        return String(bundle[..<(bundle.lastIndex(of: "/") ?? bundle.endIndex)]) + "/wpar-probe"
    }

    struct Outcome {
        var status: Int32
        /// True when it died by SIGKILL.
        var killed: Bool
        var errorOutput: String
    }

    static func start(_ arguments: [String], sandbox: EngineSandbox, fault: String? = nil) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PARTCTL_ROOT"] = sandbox.paths.definitions
        environment["PARTCTL_RUNTIME_ROOT"] = sandbox.paths.root
        environment[FaultPoint.variable] = fault
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, errors)
    }

    static func finish(_ started: (Process, Pipe)) -> Outcome {
        let data = started.1.fileHandleForReading.readDataToEndOfFile()
        started.0.waitUntilExit()
        let killed = started.0.terminationReason == .uncaughtSignal && started.0.terminationStatus == SIGKILL
        return Outcome(status: started.0.terminationStatus, killed: killed, errorOutput: String(decoding: data, as: UTF8.self))
    }

    static func run(_ arguments: [String], sandbox: EngineSandbox, fault: String? = nil) throws -> Outcome {
        finish(try start(arguments, sandbox: sandbox, fault: fault))
    }
}
