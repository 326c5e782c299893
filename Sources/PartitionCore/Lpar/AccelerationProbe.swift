import PartitionModel
import WorkloadEngine
#if canImport(Glibc)
import Glibc
import SystemKit
#endif

/// Decides between KVM and TCG for `accel: auto`.
///
/// `/dev/kvm` existing proves little: on some hosts (nested virtualisation without the features a
/// guest needs) a guest under KVM hangs. So partctl boots its own guest image once under KVM with
/// `partctl.probe=1`, which makes the guest print a marker and power off at once, and uses KVM only
/// when the marker shows in time. The answer is cached per boot of the host and QEMU binary.
struct AccelerationProbe {
    let configuration: PartctlConfiguration
    static let qemuBinary = "/usr/bin/qemu-system-x86_64"
    static let marker = "partctl-guest: probe ok"
    /// Under working KVM the probe guest is up in well under a second; under TCG it takes ~2.5 s.
    static let timeout: Duration = .seconds(6)

    var imageDirectory: String { configuration.stateRoot + "/images/partctl-guest" }
    var cachePath: String { configuration.stateRoot + "/accel-probe" }

    func resolve(_ requested: Acceleration) throws(PartitionError) -> Acceleration {
        switch requested {
        case .tcg:
            return .tcg
        case .kvm:
            guard access("/dev/kvm", R_OK | W_OK) == 0 else {
                throw PartitionError(.unsupported, "The profile asks for accel: kvm, but /dev/kvm is not usable on this host; use accel: auto or tcg.")
            }
            return .kvm
        case .auto:
            return probeCached()
        }
    }

    /// The cached answer when it is for this boot and this QEMU; otherwise a fresh probe.
    func probeCached() -> Acceleration {
        guard access("/dev/kvm", R_OK | W_OK) == 0 else { return .tcg }
        let key = cacheKey()
        if let bytes = try? AtomicFile.read(cachePath, limit: 4096) {
            let text = String(decoding: bytes, as: UTF8.self)
            let lines = text.split(separator: "\n").map(String.init)
            if lines.count == 2, lines[0] == key, let answer = Acceleration(rawValue: lines[1]), answer != .auto {
                return answer
            }
        }
        guard let answer = probe() else { return .tcg }
        try? AtomicFile.write(Array("\(key)\n\(answer.rawValue)\n".utf8), to: cachePath, mode: 0o644)
        return answer
    }

    func cacheKey() -> String {
        var info = stat()
        let qemuStamp = stat(AccelerationProbe.qemuBinary, &info) == 0 ? "\(info.st_mtim.tv_sec)" : "none"
        return "boot=\(BootID.current()) qemu=\(qemuStamp)"
    }

    /// Boots the probe guest under KVM; nil when it cannot run at all (no image, no QEMU): not cached.
    func probe() -> Acceleration? {
        let kernel = imageDirectory + "/vmlinuz"
        let initrd = imageDirectory + "/initrd.img"
        guard access(kernel, R_OK) == 0, access(initrd, R_OK) == 0, access(AccelerationProbe.qemuBinary, X_OK) == 0 else {
            return nil
        }
        let arguments = [
            AccelerationProbe.qemuBinary, "-accel", "kvm", "-machine", "q35", "-cpu", "host", "-m", "128",
            "-nodefaults", "-nographic", "-no-reboot", "-serial", "stdio", "-monitor", "none",
            "-kernel", kernel, "-initrd", initrd,
            "-append", "console=ttyS0,115200 panic=-1 partctl.probe=1",
        ]
        guard let output = OutputCapture.run(arguments, timeout: AccelerationProbe.timeout, stopWhen: AccelerationProbe.marker) else {
            return nil
        }
        return output.contains(AccelerationProbe.marker) ? .kvm : .tcg
    }
}

/// Runs a program with stdout+stderr captured until a marker appears, it exits, or time runs out;
/// then kills it. For the probe only: no stdin, no environment beyond PATH.
enum OutputCapture {
    static func run(_ arguments: [String], timeout: Duration, stopWhen marker: String) -> String? {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { return nil }
        _ = fcntl(pipeFDs[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(pipeFDs[1], F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { (argv + envp).forEach { free($0) } }
        // QEMU starts with every signal unblocked and at its default, whatever this process's threads have.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        var allSignals = sigset_t()
        sigemptyset(&noSignals)
        sigfillset(&allSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let status = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        close(pipeFDs[1])
        defer { close(pipeFDs[0]) }
        guard status == 0 else { return nil }
        var output: [UInt8] = []
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while clock.now < deadline {
            var poller = pollfd(fd: pipeFDs[0], events: Int16(POLLIN), revents: 0)
            let left = clock.now.duration(to: deadline).components
            let remaining = Int32(max(1, left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000))
            let ready = poll(&poller, 1, remaining)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            let count = read(pipeFDs[0], &buffer, buffer.count)
            if count <= 0 { break }
            output += buffer[0..<count]
            if output.count > 1 << 20 { break }
            if String(decoding: output, as: UTF8.self).contains(marker) { break }
        }
        kill(pid, SIGKILL)
        var exitStatus: Int32 = 0
        while waitpid(pid, &exitStatus, 0) == -1 && errno == EINTR {}
        return String(decoding: output, as: UTF8.self)
    }
}
