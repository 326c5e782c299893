import Foundation
import Glibc
import PartitionModel
@testable import WorkloadEngine

/// What an ended WPAR may have left on the host; empty when nothing is left.
struct Leftovers: CustomStringConvertible {
    var cgroups: [String]
    var runtimeDirectory: Bool
    /// Supervisors of this sandbox still running.
    var supervisors: [pid_t]

    static func of(_ name: String, in sandbox: EngineSandbox) -> Leftovers {
        let runtime = sandbox.paths.runtimeDirectory(for: try! PartitionName(name))
        let supervisors = EngineSandbox.processes().filter { pid in
            guard let commandLine = SystemCall.readText("/proc/\(pid)/cmdline") else { return false }
            return commandLine.contains("partctl-supervisor") && commandLine.contains(runtime)
        }
        return Leftovers(cgroups: EngineSandbox.cgroupDirectories(named: name),
                         runtimeDirectory: HostSystem.fileType(runtime) != nil, supervisors: supervisors)
    }

    var isEmpty: Bool { cgroups.isEmpty && !runtimeDirectory && supervisors.isEmpty }

    var description: String { "cgroups \(cgroups), runtime directory \(runtimeDirectory), supervisors \(supervisors)" }
}
