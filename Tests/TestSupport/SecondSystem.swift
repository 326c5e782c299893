import Foundation

/// A second managed system on this machine for a test (scripts/second-system.sh): its own libvirtd
/// in its own mount, UTS and network namespaces, reached over a veth pair as qemu+tcp. Root only.
///
///     let sys2 = try SecondSystem.up(name: TestNames.unique("sys"))
///     defer { sys2.down() }
///     // partctl system add sys2 \(sys2.uri); relocate lp1 --to sys2 ...
public struct SecondSystem: Sendable {
    /// Its name (also its host name); a `ptest-` name.
    public let name: String
    /// Its libvirt URI: qemu+tcp://ADDRESS/system.
    public let uri: String
    /// Its address on the veth (the migration address: its host name does not resolve here).
    public let address: String
    /// This machine's address as seen from the system (for moves back to this machine).
    public let hostAddress: String

    static var script: String { BuiltProducts.packageRoot + "/scripts/second-system.sh" }

    /// Makes the system and starts its libvirtd (about a second; a former run's leftovers of the
    /// same name are removed first).
    public static func up(name: String) throws -> SecondSystem {
        precondition(TestNames.isTestName(name), "a test's second system must have a ptest- name")
        let result = try TestProcess.run("/bin/sh", [script, "up", name], timeout: 120)
        let fields = result.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        guard result.status == 0, fields.count == 3 else {
            _ = try? TestProcess.run("/bin/sh", [script, "down", name], timeout: 60)
            throw SecondSystemError(message: "second-system.sh up \(name) failed: \(result)")
        }
        return SecondSystem(name: name, uri: fields[0], address: fields[1], hostAddress: fields[2])
    }

    /// Stops its libvirtd; the system stays (its QEMUs keep running) but does not answer.
    public func stop() throws { try run("stop") }

    /// Starts its libvirtd again.
    public func start() throws { try run("start") }

    /// Removes everything it had: its QEMUs, its daemons, its files, its network namespace.
    public func down() { _ = try? TestProcess.run("/bin/sh", [Self.script, "down", name], timeout: 60) }

    private func run(_ action: String) throws {
        let result = try TestProcess.run("/bin/sh", [Self.script, action, name], timeout: 120)
        guard result.status == 0 else { throw SecondSystemError(message: "second-system.sh \(action) \(name) failed: \(result)") }
    }
}

public struct SecondSystemError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
