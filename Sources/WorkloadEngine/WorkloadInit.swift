import Glibc
import PartitionModel

/// The minimal init an application WPAR's command runs under, as `docker --init` does: tini,
/// from Debian's package `tini` (its static build, so that it needs nothing of the root it runs
/// in). As PID 1 of the WPAR it reaps every orphan (no `-s` needed: PID 1 is the reaper of its
/// PID namespace) and passes the stop signal on to the command's whole process group (`-g`), so a
/// command that ignores SIGTERM as PID 1 (the kernel protects PID 1 from signals it has no handler
/// for) stops like any process. It exits with the command's exit code, or 128+N when the command
/// was killed by signal N, as a shell reports it.
///
/// The binary is the host's, opened by the child before the root moves (no symlink followed, its
/// identity checked) and executed by descriptor, bound read-only, so the WPAR can neither swap it
/// nor write through /proc/1/exe to the host's file.
public enum WorkloadInit {
    public static let hostPath = "/usr/bin/tini-static"

    /// `process` with tini in front of its command. `ownPaths` are the WPAR's own mount targets.
    static func wrap(_ process: SpawnPlan.Process, ownPaths: [String], hostRoot: Bool = true) throws(PartitionError) -> SpawnPlan.Process {
        if hostRoot { try checkCommandExists(process.arguments.first ?? "", ownPaths: ownPaths) }
        let binary: HostObject
        do throws(PartitionError) {
            binary = try HostPathRules.open(hostPath, "minimal init")
        } catch where error.code == .notFound {
            throw PartitionError(.unsupported,
                "The minimal init \(hostPath) is missing (Debian's package tini); install it, or set init: false in the profile.")
        }
        guard !binary.isDirectory else {
            throw PartitionError(.invalidArgument, "The minimal init \(hostPath) is a directory.")
        }
        var wrapped = process
        wrapped.arguments = ["tini", "-g", "--"] + process.arguments
        wrapped.hostProgram = SpawnPlan.HostProgram(path: binary.path, identity: binary.identity)
        return wrapped
    }

    /// tini would find a missing command only inside the running WPAR (exit 127): an application
    /// WPAR's root is the host's, read-only, so an absolute command outside its own mounts that
    /// the host lacks is reported now, as execve's failure is without the init.
    static func checkCommandExists(_ program: String, ownPaths: [String]) throws(PartitionError) {
        guard program.hasPrefix("/"),
              !(["/tmp", "/run", "/dev", "/proc", "/sys"] + ownPaths).contains(where: { HostPathRules.path(program, isWithin: $0) }),
              access(program, F_OK) != 0, errno == ENOENT else { return }
        throw PartitionError(.notFound, "execve \(QuotedText.of(program)) failed: No such file or directory. The command was not found inside the WPAR.")
    }
}
