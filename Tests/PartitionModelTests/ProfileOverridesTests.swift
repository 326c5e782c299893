import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// `-i "k=v,..."`: parsed strictly, set into the tree as "command line", checked like file values.
@Suite struct ProfileOverridesTests {
    let store = ProfileStore(searchPath: [shippedProfiles])

    @Test func parsesAttributes() throws {
        let overrides = try ProfileOverrides.parse("desired_procs=2, desired_mem=384MiB,cap=none")
        #expect(overrides.assignments == [
            .init(attribute: "desired_procs", value: "2"), .init(attribute: "desired_mem", value: "384MiB"),
            .init(attribute: "cap", value: "none"),
        ])
        #expect(try ProfileOverrides.parse(["weight=5", "autostart=true"]).assignments.count == 2)
    }

    @Test(arguments: [
        ("desired_memory=1GiB", "did you mean 'desired_mem'?"),
        ("colour=blue", "The attributes are: min_mem, desired_mem, max_mem, min_procs, desired_procs, max_procs, weight, cap, autostart, accel, image, hostname, network, cpu_weight"),
        ("weight", "'weight' is not of the form attribute=value"),
        ("weight=5,,cap=1", "an empty item is not of the form"),
        ("weight=", "-i weight: has no value"),
        ("weight=1,weight=2", "-i weight: is given more than once"),
        ("hostname=a\u{7}b", "control character"),
    ])
    func refusesBadAttributes(_ text: String, _ fragment: String) {
        do {
            let overrides = try ProfileOverrides.parse(text)
            Issue.record("accepted: \(overrides)")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(fragment), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func overridesWinAndAreMarkedCommandLine() throws {
        let resolved = try store.resolve("lpar-minimal", overrides: ProfileOverrides.parse("desired_procs=2,desired_mem=384MiB,cap=0.5,accel=tcg"))
        let lpar = try #require(resolved.lpar)
        #expect(lpar.processors.desired == 2 && lpar.memory.desired == .mebibytes(384) && lpar.cap == 0.5 && lpar.accel == .tcg)
        #expect(resolved.origin(of: "processors.desired") == ProfileValueOrigin(keyPath: "processors.desired", value: "2", source: "command line"))
        #expect(resolved.origin(of: "processors.desired")?.isCommandLine == true)
        #expect(resolved.origin(of: "memory.max")?.source == "lpar-minimal")
    }

    /// Overrides get every check a file value gets, and the error names the attribute.
    @Test(arguments: [
        ("desired_mem=1GiB", "-i desired_mem: memory: desired 1GiB is greater than max 512MiB."),
        ("min_procs=0", "-i min_procs: processors.min: must be at least 1; found 0."),
        ("weight=0", "-i weight: weight: must be between 1 and 10000; found 0."),
        ("cap=3", "-i cap: cap: 3 CPUs is more than processors.max (2)"),
        ("max_mem=lots", "-i max_mem: memory.max: the size 'lots' does not parse"),
        ("autostart=perhaps", "-i autostart: autostart: expected true or false, found 'perhaps'."),
    ])
    func overridesAreValidated(_ text: String, _ expected: String) throws {
        do {
            _ = try store.resolve("lpar-minimal", overrides: ProfileOverrides.parse(text))
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidProfile)
            #expect(error.message.hasPrefix(expected), "\(error.message)")
        }
    }

    @Test func capNoneRemovesACap() throws {
        let capped = try store.resolve("lpar-minimal", overrides: ProfileOverrides.parse("cap=1"))
        #expect(capped.lpar?.cap == 1)
        let uncapped = try capped.applying(ProfileOverrides.parse("cap=none"))
        #expect(uncapped.lpar?.cap == nil)
        #expect(uncapped.origin(of: "cap")?.isCommandLine == true)
    }

    @Test func wparAttributes() throws {
        let resolved = try store.resolve("wpar-app", overrides: ProfileOverrides.parse(
            "cpu_weight=50,cpu_max=0.5,memory_high=128MiB,memory_max=192MiB,pids_max=64,hostname=tools,autostart=yes"))
        let wpar = try #require(resolved.wpar)
        #expect(wpar.resources == WparResources(cpu: WparCpuLimits(weight: 50, max: 0.5),
                                                memory: WparMemoryLimits(high: .mebibytes(128), max: .mebibytes(192)),
                                                processes: WparProcessLimits(max: 64)))
        #expect(wpar.hostname == "tools" && wpar.autostart)
        #expect(resolved.origin(of: "resources.processes.max")?.isCommandLine == true)
        do {
            _ = try store.resolve("wpar-app", overrides: ProfileOverrides.parse("memory_high=512MiB"))
            Issue.record("high above max was accepted")
        } catch {
            #expect(error.message == "-i memory_high: resources.memory: high 512MiB is greater than max 256MiB.")
        }
    }

    @Test func attributesOfTheOtherKindAreRefused() throws {
        do {
            _ = try store.resolve("wpar-app", overrides: ProfileOverrides.parse("desired_mem=1GiB"))
            Issue.record("an LPAR attribute was applied to a WPAR")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message == "-i desired_mem: does not apply to a profile of kind wpar; its attributes are: cpu_weight, cpu_max, memory_high, memory_max, pids_max, hostname, autostart, image, network.")
        }
    }

    /// `modify -i … --config` on a stored profile: applied and checked again.
    @Test func applyingToAResolvedProfileRevalidates() throws {
        let resolved = try store.resolve("lpar-minimal")
        let changed = try resolved.applying(ProfileOverrides.parse("max_mem=1GiB,desired_mem=768MiB"))
        #expect(changed.lpar?.memory == ResourceRange(min: .mebibytes(128), desired: .mebibytes(768), max: .mebibytes(1024)))
        #expect(changed.origin(of: "memory.max")?.isCommandLine == true)
        #expect(changed.origin(of: "memory.min")?.source == "lpar-minimal")
        #expect(throws: PartitionError.self) { try changed.applying(ProfileOverrides.parse("min_mem=1GiB")) }
        let again = try changed.applying(ProfileOverrides.parse("weight=7"))
        #expect(again.lpar?.weight == 7 && again.lpar?.memory.max == .mebibytes(1024))
    }

    @Test func laterOverridesWin() throws {
        let merged = try ProfileOverrides.parse("weight=5,cap=1").merging(ProfileOverrides.parse("weight=6"))
        #expect(merged.assignments == [.init(attribute: "cap", value: "1"), .init(attribute: "weight", value: "6")])
    }
}
