import Foundation
import PartctlTestSupport
import Testing

/// `relocate` refusals that need no second libvirtd: both systems are libvirt's test driver
/// (files of this test), registered in a systems.json of its own. What the checks find is
/// libvirt's answer, not partctl's guess: the test driver's node has 3 GiB and a few MiB free.
@Suite(.serialized) struct RelocateRefusalTests {
    final class Systems {
        let directory: String
        let environment: [String: String]

        /// `source` domains (XML) on the system the command runs on; `destination` ones on sys2.
        init(source: [String], destination: [String]?) throws {
            directory = FileManager.default.temporaryDirectory.appendingPathComponent("ptest-relocate-\(UUID().uuidString)").path
            for sub in ["", "/run", "/state"] { try FileManager.default.createDirectory(atPath: directory + sub, withIntermediateDirectories: true) }
            func node(_ domains: [String]) -> String {
                "<node><cpu><nodes>1</nodes><sockets>1</sockets><cores>2</cores><threads>1</threads><active>2</active>" +
                    "<mhz>1000</mhz><model>x86_64</model></cpu><memory>4194304</memory>" + domains.joined() + "</node>"
            }
            try node(source).write(toFile: directory + "/source.xml", atomically: true, encoding: .utf8)
            // nil: the destination is the test driver's own default system (a few MiB free).
            var destinationURI = "test:///default"
            if let destination {
                try node(destination).write(toFile: directory + "/destination.xml", atomically: true, encoding: .utf8)
                destinationURI = "test://" + directory + "/destination.xml"
            }
            try "{\"systems\":[{\"name\":\"sys2\",\"uri\":\"\(destinationURI)\"}]}\n"
                .write(toFile: directory + "/systems.json", atomically: true, encoding: .utf8)
            chmod(directory + "/systems.json", 0o600)
            environment = ["PARTCTL_CONFIG_DIR": directory, "PARTCTL_RUNTIME_ROOT": directory + "/run",
                           "PARTCTL_ROOT": directory + "/state", "PARTCTL_CONNECT": "test://" + directory + "/source.xml"]
        }

        deinit { try? FileManager.default.removeItem(atPath: directory) }

        func partctl(_ arguments: String...) throws -> CLI.Result {
            try CLI.partctl(arguments: arguments, environment: environment)
        }
    }

    /// A domain as partctl defines one (its metadata), with a kernel every host has.
    static func lpar(_ name: String, uuid: String = UUID().uuidString.lowercased(), currentMiB: Int = 256) -> String {
        """
        <domain type='qemu'><name>\(name)</name><uuid>\(uuid)</uuid>
        <metadata><partctl:partition xmlns:partctl="http://partctl.org/xmlns/partition/1" version="1" accel="tcg">\
        <partctl:profile name="lpar-minimal">{}</partctl:profile></partctl:partition></metadata>
        <memory unit='KiB'>524288</memory><currentMemory unit='KiB'>\(currentMiB * 1024)</currentMemory><vcpu>1</vcpu>
        <os><type>hvm</type></os></domain>
        """
    }

    @Test func nameTakenOnTheDestination() throws {
        let systems = try Systems(source: [Self.lpar("ptest-taken", currentMiB: 1)], destination: [Self.lpar("ptest-taken")])
        let validate = try systems.partctl("relocate", "ptest-taken", "--to", "sys2", "--validate")
        #expect(validate.status == 2, "\(validate.stdout) \(validate.stderr)")
        #expect(validate.stdout.contains("blocked: sys2 has a domain named 'ptest-taken' already"), "\(validate.stdout)")
        let move = try systems.partctl("relocate", "ptest-taken", "--to", "sys2")
        expectRefusal(move, status: 2, mentioning: ["ptest-taken", "relocate", "has a domain named 'ptest-taken' already"])
        // Nothing moved: the LPAR is still here, running.
        let state = try CLI.run("/usr/bin/virsh", ["-c", systems.environment["PARTCTL_CONNECT"]!, "domstate", "ptest-taken"])
        #expect(state.stdout.contains("running"))
    }

    @Test func notEnoughMemoryOnTheDestination() throws {
        let systems = try Systems(source: [Self.lpar("ptest-big")], destination: nil)
        let validate = try systems.partctl("relocate", "ptest-big", "--to", "sys2", "--validate", "--json")
        #expect(validate.status == 2)
        #expect(validate.stdout.contains("of memory free; this LPAR runs with 256MiB"), "\(validate.stdout)")
        let move = try systems.partctl("relocate", "ptest-big", "--to", "sys2")
        expectRefusal(move, status: 2, mentioning: ["memory free"])
    }

    @Test func aCleanValidationSaysSo() throws {
        let systems = try Systems(source: [Self.lpar("ptest-fits", currentMiB: 1)], destination: nil)
        let validate = try systems.partctl("relocate", "ptest-fits", "--to", "sys2", "--validate")
        #expect(validate.status == 0, "\(validate.stdout) \(validate.stderr)")
        #expect(validate.stdout == "ptest-fits can be relocated to sys2 (live).\n")
    }

    @Test func refusedRequests() throws {
        let systems = try Systems(source: [Self.lpar("ptest-asked", currentMiB: 1)], destination: nil)
        expectRefusal(try systems.partctl("relocate", "ptest-asked", "--to", "nowhere"), status: 2, mentioning: ["no managed system named 'nowhere'"])
        expectRefusal(try systems.partctl("relocate", "ptest-asked", "--to", "sys2", "--live", "--offline"), status: 2, mentioning: ["exclude"])
        expectRefusal(try systems.partctl("relocate", "ptest-missing", "--to", "sys2"), status: 2, mentioning: ["No partition named 'ptest-missing'"])
        // It runs: an offline move would leave it running on a system that no longer has its definition.
        expectRefusal(try systems.partctl("relocate", "ptest-asked", "--to", "sys2", "--offline"), status: 1, mentioning: ["running"])
    }
}
