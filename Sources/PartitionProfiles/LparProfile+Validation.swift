import PartitionModel

/// The limits and consistency rules of an LPAR profile. Profile decoding runs them and places each
/// problem in the file that set the value; code that builds an `LparProfile` itself calls `validate()`.
extension LparProfile {
    public static let memoryLimits = ByteSize.mebibytes(16)...ByteSize(bytes: 16 << 40)
    public static let processorLimits = 1...256
    /// The smallest cap the kernel enforces: 1ms of CPU time in a 100ms period.
    public static let minimumCap = 0.01
    public static let maxDisks = 16
    public static let maxAdapters = 16
    /// x86's COMMAND_LINE_SIZE.
    public static let maxCommandLineBytes = 2048

    /// Checks every value and how the values fit together. The error names the key path, e.g.
    /// "memory: min 512MiB is greater than desired 256MiB."
    public func validate() throws(PartitionError) {
        if let problem = problems().first { throw PartitionError(.invalidProfile, problem.message) }
    }

    /// Checks what only the managed system can tell: the kernel, initrd and disk images exist, are
    /// regular files (not devices), do not lead by symbolic links into system directories, and disk
    /// images match their format (a qcow2 image with a backing file is refused: it could reach any file).
    /// The definition step calls this; profiles themselves may name files that do not exist yet.
    public func validateHostPaths() throws(PartitionError) {
        if let problem = hostPathProblems().first { throw PartitionError(.invalidProfile, problem.message) }
    }

    func problems() -> [ProfileProblem] {
        var problems = memoryProblems() + processorProblems()
        if !LparProfile.weightRange.contains(weight) {
            problems.append(ProfileProblem("weight", "must be between \(LparProfile.weightRange.lowerBound) and \(LparProfile.weightRange.upperBound); found \(weight)."))
        }
        if let cap {
            let shown = ProfileReader.render(cap)
            if !(cap > 0) || !cap.isFinite {
                problems.append(ProfileProblem("cap", "must be a number of CPUs greater than 0, or none for uncapped; found \(shown)."))
            } else if cap < LparProfile.minimumCap {
                problems.append(ProfileProblem("cap", "\(shown) is below \(ProfileReader.render(LparProfile.minimumCap)) CPUs, the smallest cap the kernel enforces."))
            } else if cap > Double(processors.max) {
                problems.append(ProfileProblem("cap", "\(shown) CPUs is more than processors.max (\(processors.max)); the LPAR could never reach it.",
                                               involving: ["cap", "processors.max"]))
            }
        }
        return problems + bootProblems() + adapterProblems() + diskProblems()
    }

    // Desired first: min and max default to it, and then the problem is desired's, on its line.
    private func memoryProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        for (key, value) in [("desired", memory.desired), ("min", memory.min), ("max", memory.max)] {
            if value < LparProfile.memoryLimits.lowerBound {
                problems.append(ProfileProblem("memory.\(key)", "\(value) is below \(LparProfile.memoryLimits.lowerBound), the least an LPAR can run in."))
            } else if value > LparProfile.memoryLimits.upperBound {
                problems.append(ProfileProblem("memory.\(key)", "\(value) is above \(LparProfile.memoryLimits.upperBound), the most an LPAR may have."))
            } else if value.bytes % (1 << 20) != 0 {
                problems.append(ProfileProblem("memory.\(key)", "\(value) is not a whole number of MiB."))
            }
        }
        problems += orderProblems("memory", memory, show: { $0.description })
        return problems
    }

    private func processorProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        for (key, value) in [("desired", processors.desired), ("min", processors.min), ("max", processors.max)]
        where !LparProfile.processorLimits.contains(value) {
            problems.append(ProfileProblem("processors.\(key)", value < 1 ? "must be at least 1; found \(value)."
                : "\(value) is more than \(LparProfile.processorLimits.upperBound), the most vCPUs an LPAR may have."))
        }
        problems += orderProblems("processors", processors, show: { String($0) })
        return problems
    }

    private func orderProblems<V>(_ key: String, _ range: ResourceRange<V>, show: (V) -> String) -> [ProfileProblem] {
        if range.min > range.desired {
            return [ProfileProblem(key, "min \(show(range.min)) is greater than desired \(show(range.desired)).",
                                   involving: ["\(key).min", "\(key).desired"])]
        }
        if range.desired > range.max {
            return [ProfileProblem(key, "desired \(show(range.desired)) is greater than max \(show(range.max)).",
                                   involving: ["\(key).desired", "\(key).max"])]
        }
        return []
    }

    private func bootProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        for (key, path) in [("kernel", boot.kernel), ("initrd", boot.initrd)] {
            guard let path else { continue }
            if let problem = ProfileRules.absolutePathProblem(path) {
                problems.append(ProfileProblem("boot.\(key)", problem))
            } else if let root = ProfileRules.kernelForbiddenRoots.first(where: { ProfileRules.isWithin(path, $0) }) {
                problems.append(ProfileProblem("boot.\(key)", "'\(path)' lies in \(root); a kernel or initrd may not come from there."))
            }
        }
        if let cmdline = boot.cmdline {
            if ProfileRules.hasControlCharacters(cmdline) {
                problems.append(ProfileProblem("boot.cmdline", "contains a line break or another control character."))
            } else if cmdline.utf8.count > LparProfile.maxCommandLineBytes {
                problems.append(ProfileProblem("boot.cmdline", "is \(cmdline.utf8.count) bytes long; a kernel takes at most \(LparProfile.maxCommandLineBytes)."))
            }
        }
        if boot.kernel == nil {
            if boot.initrd != nil {
                problems.append(ProfileProblem("boot.initrd", "needs boot.kernel: an initrd is loaded only with a kernel given directly.",
                                               involving: ["boot.initrd", "boot.kernel"]))
            }
            if boot.cmdline != nil {
                problems.append(ProfileProblem("boot.cmdline", "needs boot.kernel: a command line goes only to a kernel given directly.",
                                               involving: ["boot.cmdline", "boot.kernel"]))
            }
            if disks.isEmpty, image == nil, !boot.order.contains(.network) {
                problems.append(ProfileProblem("boot", "there is nothing to boot from: give boot.kernel, an image, or disks (and boot.order), or boot.order: [network].",
                                               involving: ["boot.kernel", "disks"]))
            }
        } else if !boot.order.isEmpty {
            problems.append(ProfileProblem("boot.order", "applies only when booting from devices, but boot.kernel is set; remove one of them ('order: ~' drops an inherited order).",
                                           involving: ["boot.order", "boot.kernel"]))
        }
        var seen: Set<BootDevice> = []
        for device in boot.order {
            if !seen.insert(device).inserted {
                problems.append(ProfileProblem("boot.order", "lists '\(device.rawValue)' twice."))
                continue
            }
            switch device {
            case .disk where !disks.contains(where: { $0.device == .disk }):
                problems.append(ProfileProblem("boot.order", "lists 'disk', but no entry of disks has device: disk.", involving: ["boot.order", "disks"]))
            case .cdrom where !disks.contains(where: { $0.device == .cdrom }):
                problems.append(ProfileProblem("boot.order", "lists 'cdrom', but no entry of disks has device: cdrom.", involving: ["boot.order", "disks"]))
            case .network where network.isEmpty:
                problems.append(ProfileProblem("boot.order", "lists 'network', but there is no network adapter.", involving: ["boot.order", "network"]))
            default:
                break
            }
        }
        return problems
    }

    private func adapterProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        if network.count > LparProfile.maxAdapters {
            problems.append(ProfileProblem("network", "has \(network.count) adapters; an LPAR may have at most \(LparProfile.maxAdapters)."))
        }
        var macs: [String: Int] = [:]
        for (index, adapter) in network.enumerated() {
            switch adapter.attachment {
            case .network(let name):
                if let problem = ProfileRules.interfaceNameProblem(name, maxLength: 64) {
                    problems.append(ProfileProblem("network[\(index)].network", problem))
                }
            case .bridge(let name):
                if let problem = ProfileRules.interfaceNameProblem(name, maxLength: 15) {
                    problems.append(ProfileProblem("network[\(index)].bridge", problem))
                }
            }
            guard let mac = adapter.mac else { continue }
            if let problem = ProfileRules.macProblem(mac) {
                problems.append(ProfileProblem("network[\(index)].mac", problem))
            } else if let other = macs[mac.lowercased()] {
                problems.append(ProfileProblem("network[\(index)].mac", "\(mac) is also the address of network[\(other)]."))
            } else {
                macs[mac.lowercased()] = index
            }
        }
        return problems
    }

    private func diskProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        if disks.count > LparProfile.maxDisks {
            problems.append(ProfileProblem("disks", "has \(disks.count) disks; an LPAR may have at most \(LparProfile.maxDisks)."))
        }
        var files: [String: Int] = [:]
        for (index, disk) in disks.enumerated() {
            let key = "disks[\(index)]"
            if let problem = ProfileRules.absolutePathProblem(disk.file) {
                problems.append(ProfileProblem("\(key).file", problem))
            } else if disk.file == "/" {
                problems.append(ProfileProblem("\(key).file", "'/' is a directory, not an image file."))
            } else if let root = ProfileRules.diskForbiddenRoots.first(where: { ProfileRules.isWithin(disk.file, $0) }) {
                problems.append(ProfileProblem("\(key).file",
                    "'\(disk.file)' lies in \(root); a disk must be an image file outside the system directories (\(ProfileRules.diskForbiddenRoots.joined(separator: ", ")))."))
            } else if let other = files[disk.file] {
                problems.append(ProfileProblem("\(key).file", "'\(disk.file)' is already disks[\(other)]; a file can back one disk only."))
            } else {
                files[disk.file] = index
            }
            if disk.device == .cdrom {
                if disk.bus == .virtio {
                    problems.append(ProfileProblem("\(key).bus", "a cdrom cannot sit on virtio; use sata, scsi or ide."))
                }
                if !disk.readonly {
                    problems.append(ProfileProblem("\(key).readonly", "a cdrom is always read-only; remove 'readonly: false'."))
                }
            }
        }
        return problems
    }

    func hostPathProblems() -> [ProfileProblem] {
        var problems: [ProfileProblem] = []
        for (key, path) in [("boot.kernel", boot.kernel), ("boot.initrd", boot.initrd)] {
            guard let path else { continue }
            if let problem = ProfileHostPath.regularFileProblem(path, forbidden: ProfileRules.kernelForbiddenRoots) {
                problems.append(ProfileProblem(key, problem))
            }
        }
        for (index, disk) in disks.enumerated() {
            let key = "disks[\(index)].file"
            if let problem = ProfileHostPath.regularFileProblem(disk.file, forbidden: ProfileRules.diskForbiddenRoots)
                ?? ProfileHostPath.imageFormatProblem(disk.file, format: disk.format) {
                problems.append(ProfileProblem(key, problem))
            }
        }
        return problems
    }
}
