import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// A temporary directory of profiles, named `ptest-…` and removed when the fixture goes away, also
/// when a test fails.
final class ProfileFixture {
    let directory: String

    init() throws {
        let template = NSTemporaryDirectory() + "ptest-profiles-XXXXXX"
        var bytes = Array(template.utf8CString)
        guard let made = mkdtemp(&bytes) else { throw PartitionError(.system, "mkdtemp failed") }
        directory = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: directory)
    }

    var store: ProfileStore { ProfileStore(searchPath: [directory]) }

    /// Writes `<name>.yaml` (or `name` as given when it has an extension) and returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = "\(directory)/\(name.contains(".") ? name : name + ".yaml")"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// Resolves `name` and returns the error, recording an issue when there is none.
    func failure(_ name: String, overrides: ProfileOverrides = ProfileOverrides(),
                 sourceLocation: SourceLocation = #_sourceLocation) -> PartitionError? {
        do {
            let resolved = try store.resolve(name, overrides: overrides)
            Issue.record("'\(name)' resolved although it should not: \(resolved.provenance)", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }
}

/// The repository's shipped profiles.
let shippedProfiles: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("profiles").path

/// A valid LPAR profile body to vary in tests.
let validLpar = """
    kind: lpar
    memory: {min: 128MiB, desired: 256MiB, max: 512MiB}
    processors: {min: 1, desired: 1, max: 2}
    boot:
      kernel: /var/lib/partctl/images/partctl-guest/vmlinuz

    """

/// A valid application WPAR profile body to vary in tests.
let validWpar = """
    kind: wpar
    type: application
    command: [/bin/sh]

    """

/// Checks that an error is one line naming the file (or attribute), the key path and the problem.
func expectProfileError(_ error: PartitionError?, place: String, keyPath: String, _ fragment: String,
                        code: PartitionError.Code = .invalidProfile, sourceLocation: SourceLocation = #_sourceLocation) {
    guard let error else { return }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    #expect(!error.message.contains("\n"), "not one line: \(error.message)", sourceLocation: sourceLocation)
    #expect(error.message.hasPrefix(place), "does not start with \(place): \(error.message)", sourceLocation: sourceLocation)
    #expect(error.message.contains(" \(keyPath): ") || keyPath.isEmpty, "does not name \(keyPath): \(error.message)",
            sourceLocation: sourceLocation)
    #expect(error.message.contains(fragment), "does not say '\(fragment)': \(error.message)", sourceLocation: sourceLocation)
}
