import Foundation
import PartitionModel
import PartitionProfiles

/// libFuzzer entry point for the profile reader: YAML text in, a resolved and validated profile (or
/// a clean refusal) out, through `ProfileStore.resolve` exactly as `define --profile FILE` reads it.
///
/// The input is one or more files. The first is the profile resolved; a line `#@ NAME` starts
/// another file, `NAME.yaml` beside it, so `extends` chains, cycles and kinds that disagree are
/// reached too. A first line `#-i TEXT` is parsed as `-i` overrides and applied. Any refusal is a
/// `PartitionError`; only a crash, a hang or a broken invariant is a finding.
func fuzzProfiles(_ bytes: [UInt8]) {
    let input = FuzzProfileInput(bytes)
    FuzzProfileFiles.shared.withFiles(input.files) { store, reference in
        let profile: ResolvedProfile
        do throws(PartitionError) {
            let overrides = try input.overrides.map { text throws(PartitionError) in try ProfileOverrides.parse(text) }
            profile = try store.resolve(reference, overrides: overrides ?? ProfileOverrides(), allowAbstract: input.allowAbstract)
        } catch {
            trace("refused: \(error.message)")
            return
        }
        trace("resolved: \(profile.name), kind \(profile.kind.rawValue), \(profile.provenance.count) values")
        checkInvariants(profile)
    }
}

/// What a resolved profile promises, checked on every success: its kind matches what it holds, it
/// survives being stored as JSON and loaded again (as a definition is), and checking it again
/// accepts it unchanged.
func checkInvariants(_ profile: ResolvedProfile) {
    switch (profile.kind, profile.isAbstract) {
    case (_, true): require(profile.lpar == nil && profile.wpar == nil, "an abstract profile holds typed values")
    case (.lpar, false): require(profile.lpar != nil && profile.wpar == nil, "an LPAR profile without its LPAR values")
    case (.wpar, false), (.system, false): require(profile.wpar != nil && profile.lpar == nil, "a WPAR profile without its WPAR values")
    }
    if let lpar = profile.lpar { require((try? lpar.validate()) != nil, "a resolved LPAR profile fails its own validation") }
    guard let again = try? profile.revalidated() else { fatal("a resolved profile is refused when checked again") }
    require(again == profile, "checking a resolved profile again changes it")
    let stored: Data
    do { stored = try JSONEncoder().encode(profile) } catch { fatal("a resolved profile cannot be stored: \(error)") }
    let loaded: ResolvedProfile
    do { loaded = try JSONDecoder().decode(ResolvedProfile.self, from: stored) } catch {
        fatal("a stored profile does not load again: \(error)")
    }
    require(loaded == profile, "a stored profile loads as a different profile")
}

/// With PARTCTL_FUZZ_TRACE set (when replaying inputs by hand), what became of each input.
let tracing = getenv("PARTCTL_FUZZ_TRACE") != nil

func trace(_ line: @autoclosure () -> String) {
    guard tracing else { return }
    let text = Array((line() + "\n").utf8)
    _ = text.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

func require(_ condition: Bool, _ what: String) {
    if !condition { fatal(what) }
}

func fatal(_ what: String) -> Never {
    fatalError("FuzzProfiles: \(what)")
}
