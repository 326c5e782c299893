import Foundation
import Glibc
import PartitionModel
import Testing
@testable import WorkloadEngine

/// The default filter's rules as values, without running anything (the integration tests run them).
@Suite struct SeccompFilterTests {
    /// Whether the default filter's personality rules refuse `value` (masked compares on the low 32 bits).
    static func personalityRefused(_ value: UInt64) -> Bool {
        SeccompDefaultFilter.personalityRules.contains { rule in
            guard let condition = rule.argument else { return true }
            return value & condition.value == condition.valueTwo
        }
    }

    /// Exactly Docker's five values pass: PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, the query.
    @Test func personalityAllowsExactlyDockersValues() {
        let allowed: Set<UInt64> = [0, 8, 0x20000, 0x20008, 0xffff_ffff]
        for value in allowed { #expect(!Self.personalityRefused(value), "\(value) refused") }
        var samples: [UInt64] = [1, 7, 9, 0x40000, 0x400000, 0x8040_0000, 0xffff_fffe, 0x7fff_ffff, 0x20009, 0x2000c, 0x1_0000_0040]
        for bit in 0 ..< 32 { samples.append(1 << UInt64(bit)); samples.append(0xffff_ffff ^ (1 << UInt64(bit))) }
        var generator = SystemRandomNumberGenerator()
        for _ in 0 ..< 20000 { samples.append(UInt64(UInt32.random(in: 0 ... .max, using: &generator))) }
        for value in samples where !allowed.contains(value & 0xffff_ffff) {
            #expect(Self.personalityRefused(value), "personality(\(String(value, radix: 16))) would pass")
        }
    }

    @Test func defaultFilterCompilesAndCapabilitiesLiftDockersRules() throws {
        let plain = try #require(try SeccompCompiler.program(for: nil, capabilities: CapabilitySet()))
        let admin = try #require(try SeccompCompiler.program(for: nil, capabilities: try CapabilitySet(names: ["sys_admin"])))
        #expect(plain.instructionCount > 50 && plain.instructionCount < 4096)
        #expect(admin.instructionCount < plain.instructionCount, "CAP_SYS_ADMIN lifts the mount and namespace rules")
        #expect(try SeccompCompiler.program(for: .unconfined, capabilities: CapabilitySet()) == nil)
    }

    @Test func documentNamesAreCheckedAgainstLibseccomp() {
        let bad = SeccompDocument(defaultAction: .allow, syscalls: [.init(names: ["mkdir", "no_such_call"], action: .errno)])
        #expect(throws: PartitionError.self) { try WorkloadEngine.checkSeccomp(.document(bad)) }
        let good = SeccompDocument(defaultAction: .errno, defaultErrnoRet: 38, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
                                   syscalls: [.init(names: ["read", "write", "exit_group"], action: .allow)])
        #expect(throws: Never.self) { try WorkloadEngine.checkSeccomp(.document(good)) }
    }

    /// A cached program is used only when its file holds the same description, privately.
    @Test func cacheReusesOnlyItsOwnPrivateFiles() throws {
        let root = "/tmp/ptest-seccomp-cache-\(getpid())"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cache = SeccompCache(runtimeRoot: root)
        let fresh = try #require(try SeccompCompiler.program(for: nil, capabilities: CapabilitySet(), cache: cache))
        let files = try FileManager.default.contentsOfDirectory(atPath: cache.directory)
        try #require(files.count == 1, "\(files)")
        let path = cache.directory + "/" + files[0]
        var compiled = 0
        let stand = SeccompProgram(bytes: [6, 0, 0, 0, 0, 0, 0xff, 0x7f])  // one "allow" instruction
        // A hit: nothing compiled.
        let description = try #require(SeccompCompiler.defaultDescription(CapabilitySet()))
        #expect(try cache.program(for: description) { () throws(PartitionError) in compiled += 1; return stand } == fresh)
        #expect(compiled == 0)
        // Another description under the same name (a collision, or a planted file) is not used.
        let other = SeccompCache.format + "\n" + SeccompCache.libraryVersion + "\nother"
        cache.store(stand, key: other, at: path)
        #expect(try cache.program(for: description) { () throws(PartitionError) in compiled += 1; return fresh } == fresh)
        #expect(compiled == 1)
        // A file others may write is not trusted.
        chmod(path, 0o666)
        #expect(try cache.program(for: description) { () throws(PartitionError) in compiled += 1; return fresh } == fresh)
        #expect(compiled == 2)
    }
}
