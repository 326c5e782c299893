import Glibc

/// Empties and removes the WPAR's cgroups once its init has died. With a PID namespace the kernel
/// has already killed everything in it; what remains are processes that joined from outside it
/// (the intermediates of `partctl login`) and zombies on their way out.
enum CgroupCleanup {
    /// Each directory is a WPAR cgroup ".../partctl/<name>" in one hierarchy, as partctl sent them.
    static func removeAll(_ directories: [String]) {
        for directory in directories where isWorkloadCgroup(directory) {
            killEverything(in: directory)
        }
        for directory in directories where isWorkloadCgroup(directory) {
            removeTree(directory)
        }
    }

    /// Only paths inside a cgroup file system's "partctl" parent are touched, whatever partctl sent.
    static func isWorkloadCgroup(_ directory: String) -> Bool {
        directory.hasPrefix("/sys/fs/cgroup/") && directory.contains("/partctl/") && !directory.contains("/../")
    }

    static func killEverything(in directory: String) {
        // cgroup v2 (Linux 5.14+) kills the whole subtree in one write.
        if access(directory + "/cgroup.kill", F_OK) == 0 {
            let fd = open(directory + "/cgroup.kill", O_WRONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = SupervisorFiles.writeAll(fd, Array("1".utf8))
                close(fd)
            }
        }
        for _ in 0..<500 {
            let pids = processes(in: directory)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL) }
            SupervisorFiles.sleep(milliseconds: 10)
        }
    }

    static func processes(in directory: String) -> [pid_t] {
        var pids = (SupervisorFiles.readText(directory + "/cgroup.procs") ?? "").split(separator: "\n").compactMap { pid_t($0) }
        for name in SupervisorFiles.entries(of: directory) where SupervisorFiles.isDirectory(directory + "/" + name) {
            pids += processes(in: directory + "/" + name)
        }
        return pids
    }

    /// rmdir from the leaves up; a cgroup whose last zombie is still being released answers EBUSY
    /// for a moment.
    static func removeTree(_ directory: String) {
        for name in SupervisorFiles.entries(of: directory) where SupervisorFiles.isDirectory(directory + "/" + name) {
            removeTree(directory + "/" + name)
        }
        for _ in 0..<200 {
            if rmdir(directory) == 0 || errno == ENOENT { return }
            if errno != EBUSY { return }
            SupervisorFiles.sleep(milliseconds: 10)
        }
    }
}
