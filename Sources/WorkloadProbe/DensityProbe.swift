import Foundation
import Glibc
import PartitionModel
import WorkloadEngine

/// Starts `count` idle system WPARs (a busybox root, an init that sleeps), measures what their
/// supervisors cost the host (PSS, Private_Dirty and RSS from /proc/PID/smaps_rollup) and how long
/// a status query of all of them takes, then removes them again.
struct DensityProbe {
    let engine: WorkloadEngine
    let count: Int

    func measure() throws {
        let root = try makeRoot()
        let names = try (0..<count).map { try PartitionName("ptest-density-\($0)") }
        defer {
            for name in names { try? engine.remove(name, force: true) }
            try? FileManager.default.removeItem(atPath: root)
        }
        let spec = { (name: PartitionName) in
            WorkloadSpec(name: name, kind: .system, root: .directory(path: root),
                         command: ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; /bin/busybox sleep 100000 & wait"],
                         network: .loopback, limits: WorkloadLimits(pidsMax: 16))
        }
        let start = Date()
        for name in names {
            try engine.define(name, spec: spec(name))
            try engine.activate(name)
        }
        let activation = Date().timeIntervalSince(start) / Double(count)
        Thread.sleep(forTimeInterval: Double(ProcessInfo.processInfo.environment["PTEST_DENSITY_PAUSE"] ?? "1") ?? 1)
        let queryStart = Date()
        let statuses = engine.statuses()
        let query = Date().timeIntervalSince(queryStart)
        let supervisors = statuses.compactMap(\.supervisorPID)
        var totals: [String: Int] = [:]
        for pid in supervisors {
            let rollup = (try? String(contentsOfFile: "/proc/\(pid)/smaps_rollup", encoding: .utf8)) ?? ""
            for line in rollup.split(separator: "\n") {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count >= 2, let kilobytes = Int(fields[1]) else { continue }
                totals[String(fields[0].dropLast()), default: 0] += kilobytes
            }
        }
        let running = statuses.filter { $0.state == .running }.count
        print("WPARs running: \(running) of \(count); supervisors measured: \(supervisors.count)")
        for key in ["Pss", "Private_Dirty", "Private_Clean", "Shared_Clean", "Rss"] {
            print("supervisor \(key): \(totals[key, default: 0] / max(supervisors.count, 1)) KiB each (mean)")
        }
        print(String(format: "activation: %.1f ms each; status of all %d: %.1f ms", activation * 1000, count, query * 1000))
    }

    /// A root with busybox and the directories a WPAR root needs.
    private func makeRoot() throws -> String {
        let root = NSTemporaryDirectory() + "ptest-density-root-\(getpid())"
        for directory in ["bin", "proc", "dev", "sys", "tmp"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        return root
    }
}
