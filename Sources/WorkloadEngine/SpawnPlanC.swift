import CSpawn
import Glibc

/// How the process's stdio and terminal are wired; not part of the plan because it is decided per start.
struct SpawnStdio: Sendable {
    /// Descriptors that become 0, 1 and 2 (-1: inherit the caller's).
    var descriptors: (Int32, Int32, Int32)
    /// fd 0 is a terminal that becomes the controlling terminal of the new session.
    var controllingTerminal: Bool

    static let inherited = SpawnStdio(descriptors: (-1, -1, -1), controllingTerminal: false)

    static func all(_ fd: Int32, terminal: Bool) -> SpawnStdio {
        SpawnStdio(descriptors: (fd, fd, fd), controllingTerminal: terminal)
    }
}

/// A SpawnPlan laid out as the C structs of cspawn_plan.h, at addresses that stay put while this
/// object lives: a child cloned with CLONE_VM reads them from this process's memory until it execs.
final class CSpawnPlan {
    private let arena: CArena
    let plan: UnsafePointer<cspawn_plan>

    init(_ source: SpawnPlan, cgroupFD: Int32, stdio: SpawnStdio, deathSignal: Int32) {
        let arena = CArena()
        self.arena = arena
        let ops = source.steps.map { CSpawnPlan.operation($0, identities: source.hostIdentities, arena: arena) }
        plan = arena.array([cspawn_plan(namespaces: source.namespaces.rawValue, cgroup_fd: cgroupFD, stage: arena.string(source.stage),
                                        ops: arena.array(ops), op_count: ops.count, hostname: arena.optionalString(source.hostname),
                                        death_signal: deathSignal, become_root: source.userNamespace != nil ? 1 : 0,
                                        exec: CSpawnPlan.exec(source.process, stdio: stdio, arena: arena),
                                        passed_count: source.passedTrees.count)])
    }

    /// The process part, also used by `exec` into a running WPAR (the arena keeps its memory).
    static func exec(_ process: SpawnPlan.Process, stdio: SpawnStdio, arena: CArena) -> cspawn_exec {
        // Every capability the kernel knows is dropped unless kept; if it cannot be read, all 64 bits.
        let last = cspawn_last_capability()
        let filter = process.seccomp.map { program in
            UnsafeRawPointer(arena.array(program.bytes)).assumingMemoryBound(to: cspawn_seccomp_insn.self)
        }
        return cspawn_exec(argv: arena.stringArray(process.arguments), envp: arena.stringArray(process.environment),
                           workdir: arena.string(process.workingDirectory), stdio: stdio.descriptors,
                           controlling_tty: stdio.controllingTerminal ? 1 : 0, keep_capabilities: process.capabilities.mask,
                           last_capability: last >= 0 ? last : 63, keyring: arena.optionalString(process.keyring),
                           nofile_limit: process.openFileLimit, seccomp_program: filter,
                           seccomp_length: UInt32(process.seccomp?.instructionCount ?? 0),
                           seccomp_flags: process.seccomp?.flags ?? 0,
                           host_program: arena.optionalString(process.hostProgram?.path),
                           host_program_identity: cspawn_identity(dev: process.hostProgram?.identity.device ?? 0,
                                                                  ino: process.hostProgram?.identity.inode ?? 0),
                           set_user: process.user != nil ? 1 : 0, uid: process.user?.uid ?? 0, gid: process.user?.gid ?? 0,
                           groups: process.user.flatMap { $0.groups.isEmpty ? nil : arena.array($0.groups) },
                           group_count: process.user?.groups.count ?? 0)
    }

    private static func operation(_ step: SpawnPlan.Step, identities: [String: SpawnPlan.Identity], arena: CArena) -> cspawn_op {
        var kind: cspawn_op_kind
        var flags: UInt32 = 0
        var attributes = SpawnPlan.MountAttributes()
        var source: String?
        var target: String?
        var type: String?
        var options: [SpawnPlan.FilesystemOption] = []
        var passed: Int32 = -1
        switch step.operation {
        case .rootTree(let path, let attrs):
            kind = CSPAWN_OP_ROOT_TREE
            source = path
            attributes = attrs
        case .rootFilesystem(let fstype, let fsOptions, let attrs):
            kind = CSPAWN_OP_ROOT_FS
            type = fstype
            options = fsOptions
            attributes = attrs
        case .bind(let from, let to, let attrs, let recursive, let characterDevice):
            kind = CSPAWN_OP_BIND
            source = from
            target = to
            attributes = attrs
            flags = CSPAWN_FLAG_CREATE.rawValue
            if recursive { flags |= CSPAWN_FLAG_RECURSIVE.rawValue }
            if characterDevice { flags |= CSPAWN_FLAG_CHAR_DEVICE.rawValue }
        case .filesystem(let fstype, let to, let fsOptions, let attrs):
            kind = CSPAWN_OP_FS
            type = fstype
            target = to
            options = fsOptions
            attributes = attrs
            flags = CSPAWN_FLAG_CREATE.rawValue
        case .symlink(let to, let linkText):
            kind = CSPAWN_OP_SYMLINK
            target = to
            source = linkText
        case .mask(let to):
            kind = CSPAWN_OP_MASK
            target = to
        case .readOnly(let to):
            kind = CSPAWN_OP_READONLY
            target = to
            attributes = [.readOnly, .noSetuid, .noDevices, .noExec]
        case .layer(let index, let layerName):
            kind = CSPAWN_OP_LAYER
            target = layerName
            passed = Int32(index)
        case .rootPassed(let index):
            kind = CSPAWN_OP_ROOT_PASSED
            passed = Int32(index)
        case .bindPassed(let index, let to):
            kind = CSPAWN_OP_BIND_PASSED
            target = to
            flags = CSPAWN_FLAG_CREATE.rawValue
            passed = Int32(index)
        }
        // Host paths carry the identity the rules checked (none: not pinned, e.g. device nodes).
        func identity(_ path: String?) -> cspawn_identity {
            guard let path, let known = identities[path] else { return cspawn_identity(dev: 0, ino: 0) }
            return cspawn_identity(dev: known.device, ino: known.inode)
        }
        let cOptions = options.map {
            cspawn_fs_option(key: arena.string($0.key), value: arena.optionalString($0.value),
                             flags: $0.hostDirectory ? CSPAWN_FS_OPTION_HOST_DIRECTORY.rawValue : 0,
                             identity: $0.hostDirectory ? identity($0.value) : identity(nil))
        }
        let hostSource = kind == CSPAWN_OP_ROOT_TREE || kind == CSPAWN_OP_BIND
        return cspawn_op(kind: kind.rawValue, flags: flags, attrs: attributes.rawValue, source: arena.optionalString(source),
                         target: arena.optionalString(target), fstype: arena.optionalString(type),
                         options: cOptions.isEmpty ? nil : arena.array(cOptions), option_count: cOptions.count,
                         name: arena.string(step.name), source_identity: identity(hostSource ? source : nil),
                         passed: passed)
    }
}
