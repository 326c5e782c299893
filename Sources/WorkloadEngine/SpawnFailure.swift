import CSpawn
import Glibc
import PartitionModel

/// Turns the child's failure record into one sentence, with advice where a bare errno would puzzle.
enum SpawnFailure {
    static func error(_ failure: cspawn_failure) -> PartitionError {
        var record = failure
        let step = withUnsafeBytes(of: &record.step) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let path = withUnsafeBytes(of: &record.path) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        let code = failure.error
        var message = "The WPAR's setup failed"
        message += failure.step_index >= 0 ? " at step \(failure.step_index) (\(step))" : " at \(step)"
        if !path.isEmpty { message += " on \(path)" }
        message += ": \(String(cString: strerror(code))) (errno \(code))."
        if let advice = advice(step: step, errno: code) { message += " " + advice }
        let kind: PartitionError.Code = code == ELOOP || code == ESTALE ? .permissionDenied : (code == ENOSYS ? .unsupported : .system)
        return PartitionError(kind, message)
    }

    static func advice(step: String, errno code: Int32) -> String? {
        switch (step, code) {
        case ("clone", EPERM):
            return "Creating namespaces was refused: partctl must run as root, and a user namespace needs user namespaces enabled (kernel.unprivileged_userns_clone, user.max_user_namespaces)."
        case ("clone", ENOSPC), ("clone", EUSERS):
            return "A namespace limit was reached (/proc/sys/user/max_*_namespaces) or namespaces are nested too deeply."
        case (_, ELOOP):
            return "A symlink was found in a mount's source or target path; partctl never mounts through a symlink."
        case (_, EXDEV) where step.hasPrefix("mask") || step.hasPrefix("make"):
            return "A path under /proc or /sys was not on the procfs or sysfs partctl mounted there; nothing was done through it."
        case (_, ESTALE):
            return "A host path became another file or directory between partctl's check and the mount (it was replaced); nothing was mounted."
        case (_, ENOSYS):
            return "The kernel lacks an interface partctl needs (Linux 5.12 or later is required for the new mount API)."
        case ("execve", ENOENT):
            return "The command was not found inside the WPAR."
        default:
            return nil
        }
    }
}
