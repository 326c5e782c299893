import CSeccomp
import Glibc
import PartitionModel

/// A finished seccomp filter: classic BPF instructions (8 bytes each, struct sock_filter) that the
/// child hands to the kernel just before execve (cspawn_seccomp.c).
public struct SeccompProgram: Sendable, Hashable {
    public var bytes: [UInt8]
    /// SECCOMP_FILTER_FLAG_* the program is installed with.
    public var flags: UInt32 = 0
    public var instructionCount: Int { bytes.count / 8 }
}

/// Compiles a WPAR's syscall filter with libseccomp, in the parent before clone: nothing is
/// compiled between fork and exec.
enum SeccompCompiler {
    /// The program for `policy` (nil: the default filter, which lets through what `capabilities`
    /// allow), or nil for `unconfined`. An unknown syscall or architecture name, or an argument
    /// libseccomp cannot take, is refused naming it.
    static func program(for policy: WorkloadSeccomp?, capabilities: CapabilitySet,
                        cache: SeccompCache? = nil) throws(PartitionError) -> SeccompProgram? {
        switch policy {
        case .unconfined?:
            return nil
        case nil:
            let compile = { () throws(PartitionError) -> SeccompProgram in
                try compileDefault(SeccompDefaultFilter.rules.filter { !$0.unless.contains(where: capabilities.contains) })
            }
            // The rules are this binary's: its identity and the kept capabilities name the filter,
            // without building the rules on every start.
            guard let cache, let description = defaultDescription(capabilities) else { return try compile() }
            return try cache.program(for: description, compile: compile)
        case .document(let document)?:
            var program: SeccompProgram
            if let cache {
                program = try cache.program(for: "document\n" + String(describing: document)) { () throws(PartitionError) in
                    try compile(document)
                }
            } else {
                program = try compile(document)
            }
            program.flags = (document.flags ?? []).reduce(0) { $0 | $1.value }
            return program
        }
    }

    /// The default filter's name in the cache.
    static func defaultDescription(_ capabilities: CapabilitySet) -> String? {
        SeccompCache.binaryIdentity().map { "default\n\($0)\ncapabilities \(String(capabilities.mask, radix: 16))" }
    }

    static func compileDefault(_ rules: [SeccompDefaultFilter.Rule]) throws(PartitionError) -> SeccompProgram {
        let filter = try Filter(defaultAction: SCMP_ACT_ALLOW)
        for rule in rules {
            let action = errnoAction(rule.errno)
            let conditions = rule.argument.map { [$0] } ?? []
            for name in rule.names {
                // Names this ABI lacks (vm86 on x86_64) resolve to libseccomp's pseudo numbers and add nothing.
                guard let number = Filter.syscall(name) else { continue }
                try filter.add(action, number, conditions, name: name)
            }
        }
        return try filter.export()
    }

    /// Checks a document without running anything: `profile check` and `define`.
    static func check(_ policy: WorkloadSeccomp?) throws(PartitionError) {
        if case .document(let document)? = policy { _ = try compile(document) }
    }

    static func compile(_ document: SeccompDocument) throws(PartitionError) -> SeccompProgram {
        let filter = try Filter(defaultAction: try action(document.defaultAction, errno: document.defaultErrnoRet, where: "defaultAction"))
        for name in document.architectures ?? [] {
            try filter.addArchitecture(name)
        }
        for (index, rule) in (document.syscalls ?? []).enumerated() {
            let place = "syscalls[\(index)]"
            let ruleAction = try action(rule.action, errno: rule.errnoRet, where: place)
            let conditions = (rule.args ?? []).map {
                SeccompDefaultFilter.Condition(index: $0.index, op: $0.op, value: $0.value, valueTwo: $0.valueTwo ?? 0)
            }
            for name in rule.names {
                guard let number = Filter.syscall(name) else {
                    throw PartitionError(.invalidProfile,
                        "The seccomp filter's \(place) names \(QuotedText.of(name)), which is not a system call libseccomp knows.")
                }
                // The default action again for a call is no rule at all (libseccomp refuses it as one).
                if ruleAction == filter.defaultAction { continue }
                try filter.add(ruleAction, number, conditions, name: name, place: place)
            }
        }
        return try filter.export()
    }

    static func errnoAction(_ errno: Int32) -> UInt32 { 0x0005_0000 | (UInt32(errno) & 0xffff) }

    static func action(_ action: SeccompDocument.Action, errno: UInt32?, where place: String) throws(PartitionError) -> UInt32 {
        switch action {
        case .allow: return SCMP_ACT_ALLOW
        case .errno:
            let value = errno ?? UInt32(EPERM)
            guard value <= 4095 else {
                throw PartitionError(.invalidProfile, "The seccomp filter's \(place) has errnoRet \(value); an errno is at most 4095.")
            }
            return errnoAction(Int32(value))
        case .kill, .killThread: return SCMP_ACT_KILL_THREAD
        case .killProcess: return SCMP_ACT_KILL_PROCESS
        case .trap: return SCMP_ACT_TRAP
        case .trace: return 0x7ff0_0000 | ((errno ?? 0) & 0xffff)
        case .log: return SCMP_ACT_LOG
        }
    }

    /// One libseccomp filter context, released with the value.
    final class Filter {
        let context: scmp_filter_ctx
        let defaultAction: UInt32

        init(defaultAction: UInt32) throws(PartitionError) {
            guard let context = seccomp_init(defaultAction) else {
                throw PartitionError(.internal, "libseccomp could not create a filter.")
            }
            self.context = context
            self.defaultAction = defaultAction
            // Another ABI (i386 through int 0x80, x32) would reach syscalls by other numbers: refused
            // as a whole. A binary tree of syscall numbers keeps every allowed call to a few compares.
            _ = seccomp_attr_set(context, SCMP_FLTATR_ACT_BADARCH, SeccompCompiler.errnoAction(EPERM))
            _ = seccomp_attr_set(context, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        }

        deinit { seccomp_release(context) }

        static func syscall(_ name: String) -> Int32? {
            let number = seccomp_syscall_resolve_name(name)
            return number == -1 ? nil : number  // __NR_SCMP_ERROR
        }

        /// An OCI name (`SCMP_ARCH_X86`) added to the native one.
        func addArchitecture(_ name: String) throws(PartitionError) {
            var short = name
            if short.hasPrefix("SCMP_ARCH_") { short.removeFirst("SCMP_ARCH_".count) }
            let token = short == "NATIVE" ? seccomp_arch_native() : seccomp_arch_resolve_name(short.lowercased())
            guard token != 0 else {
                throw PartitionError(.invalidProfile, "The seccomp filter names the architecture \(QuotedText.of(name)), which libseccomp does not know.")
            }
            let result = seccomp_arch_add(context, token)
            guard result == 0 || result == -EEXIST else {
                throw PartitionError(.invalidProfile,
                    "The seccomp filter's architecture \(QuotedText.of(name)) cannot run on this host (\(String(cString: strerror(-result)))).")
            }
        }

        func add(_ action: UInt32, _ number: Int32, _ conditions: [SeccompDefaultFilter.Condition], name: String,
                 place: String = "default filter") throws(PartitionError) {
            let compares = conditions.map { condition in
                scmp_arg_cmp(arg: condition.index, op: SeccompCompiler.compare(condition.op),
                             datum_a: condition.value, datum_b: condition.valueTwo)
            }
            let result = compares.withUnsafeBufferPointer {
                seccomp_rule_add_array(context, action, number, UInt32($0.count), $0.baseAddress)
            }
            guard result == 0 else {
                let repeated = Set(conditions.map(\.index)).count < conditions.count
                let hint = repeated ? "; libseccomp takes one comparison per argument in a rule" : ""
                throw PartitionError(.invalidProfile,
                    "The seccomp filter's \(place) cannot be compiled for \(QuotedText.of(name)) (\(String(cString: strerror(-result))))\(hint).")
            }
        }

        /// The BPF program, through a memory file (libseccomp 2.5 exports only to a descriptor).
        func export() throws(PartitionError) -> SeccompProgram {
            let fd = partctl_seccomp_memfd()
            guard fd >= 0 else { throw PartitionError(.system, "Cannot create a memory file for the seccomp filter (errno \(errno)).") }
            defer { close(fd) }
            let result = seccomp_export_bpf(context, fd)
            guard result == 0 else {
                throw PartitionError(.internal, "libseccomp could not export the filter (\(String(cString: strerror(-result)))).")
            }
            let size = Int(lseek(fd, 0, SEEK_END))
            guard size > 0, size % 8 == 0 else { throw PartitionError(.internal, "libseccomp exported a filter of \(size) bytes.") }
            guard size / 8 <= 4096 else {  // BPF_MAXINSNS: the kernel would refuse it at every start
                throw PartitionError(.invalidProfile, "The seccomp filter compiles to \(size / 8) instructions; the kernel takes at most 4096.")
            }
            var bytes = [UInt8](repeating: 0, count: size)
            let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, size, 0) }
            guard read == size else { throw PartitionError(.system, "Cannot read the exported seccomp filter back.") }
            return SeccompProgram(bytes: bytes)
        }
    }

    static func compare(_ op: SeccompDocument.Operator) -> scmp_compare {
        switch op {
        case .notEqual: return SCMP_CMP_NE
        case .lessThan: return SCMP_CMP_LT
        case .lessOrEqual: return SCMP_CMP_LE
        case .equal: return SCMP_CMP_EQ
        case .greaterOrEqual: return SCMP_CMP_GE
        case .greaterThan: return SCMP_CMP_GT
        case .maskedEqual: return SCMP_CMP_MASKED_EQ
        }
    }
}
