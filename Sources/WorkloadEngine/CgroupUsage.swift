import PartitionModel

/// What a WPAR uses now, for `query` and `tree`. A value is nil where this system does not account
/// it (its controller is missing) or, for the peak, where the kernel has no such file (memory.peak
/// needs Linux 5.19 on cgroup2).
public struct WorkloadUsage: Codable, Sendable, Hashable {
    public var cpuNanoseconds: UInt64?
    public var memoryCurrent: UInt64?
    public var memoryPeak: UInt64?
    public var pidsCurrent: Int?

    public init(cpuNanoseconds: UInt64? = nil, memoryCurrent: UInt64? = nil, memoryPeak: UInt64? = nil, pidsCurrent: Int? = nil) {
        self.cpuNanoseconds = cpuNanoseconds
        self.memoryCurrent = memoryCurrent
        self.memoryPeak = memoryPeak
        self.pidsCurrent = pidsCurrent
    }
}

extension WorkloadCgroup {
    /// CPU time (v1 cpuacct.usage, v2 cpu.stat usage_usec), memory (usage_in_bytes and
    /// max_usage_in_bytes, or memory.current and memory.peak) and pids.current.
    public func usage() throws(PartitionError) -> WorkloadUsage {
        var usage = WorkloadUsage()
        if let hierarchy = hierarchy(for: .cpuacct) {
            let directory = directory(in: hierarchy)
            switch hierarchy.version {
            case .v1:
                usage.cpuNanoseconds = try number(in: directory, "cpuacct.usage")
            case .v2:
                let stat = try text(in: directory, "cpu.stat")
                let line = stat.split(separator: "\n").first { $0.hasPrefix("usage_usec ") }
                guard let microseconds = line.flatMap({ UInt64($0.dropFirst("usage_usec ".count)) }) else {
                    throw PartitionError(.internal, "\(directory)/cpu.stat has no usage_usec line.")
                }
                usage.cpuNanoseconds = microseconds * 1000
            }
        }
        if let hierarchy = hierarchy(for: .memory) {
            let directory = directory(in: hierarchy)
            switch hierarchy.version {
            case .v1:
                usage.memoryCurrent = try number(in: directory, "memory.usage_in_bytes")
                usage.memoryPeak = try number(in: directory, "memory.max_usage_in_bytes")
            case .v2:
                usage.memoryCurrent = try number(in: directory, "memory.current")
                usage.memoryPeak = SystemCall.readText("\(directory)/memory.peak").flatMap(Self.parseNumber)
            }
        }
        if let hierarchy = hierarchy(for: .pids) {
            usage.pidsCurrent = try Int(number(in: directory(in: hierarchy), "pids.current"))
        }
        return usage
    }

    private func text(in directory: String, _ file: String) throws(PartitionError) -> String {
        switch SystemCall.readFile("\(directory)/\(file)", limit: 1 << 16) {
        case .success(let bytes): return String(decoding: bytes, as: UTF8.self)
        case .failure(.noSuchFileOrDirectory) where !Self.isDirectory(directory): throw notFound()
        case .failure(let cause): throw SystemCall.failure("read \(directory)/\(file)", errno: cause.rawValue)
        }
    }

    private func number(in directory: String, _ file: String) throws(PartitionError) -> UInt64 {
        let text = try text(in: directory, file)
        guard let value = Self.parseNumber(text) else {
            throw PartitionError(.internal, "\(directory)/\(file) holds '\(text.prefix(40))', not a number.")
        }
        return value
    }

    private static func parseNumber(_ text: String) -> UInt64? {
        UInt64(text.trimmingPrefix(while: \.isWhitespace).prefix { !$0.isWhitespace })
    }
}
