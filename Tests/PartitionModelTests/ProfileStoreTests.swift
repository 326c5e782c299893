import Foundation
import Testing
@testable import PartitionModel
@testable import PartitionProfiles

/// Lookup by name along the search path, paths, listing with shadowing, and the stored JSON form.
@Suite struct ProfileStoreTests {
    @Test func defaultSearchPath() {
        #expect(ProfileStore.default(environment: [:]).searchPath == ["profiles", "/etc/partctl/profiles"])
        #expect(ProfileStore.default(environment: ["PARTCTL_PROFILES": "/a:/b::/c"]).searchPath
                == ["profiles", "/etc/partctl/profiles", "/a", "/b", "/c"])
    }

    @Test func notFoundNamesTheDirectories() {
        do {
            _ = try ProfileStore.default(environment: [:]).locate("ptest-nonexistent")
            Issue.record("found a profile that does not exist")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.message == "The profile 'ptest-nonexistent' was not found in ./profiles, /etc/partctl/profiles.")
        }
    }

    @Test(arguments: ["Bad", "a b", "..", "x;y"])
    func refusesBadNames(_ name: String) {
        #expect(throws: PartitionError.self) { try ProfileStore(searchPath: ["/nonexistent"]).locate(name) }
    }

    @Test func earlierDirectoriesWinAndListMarksShadowing() throws {
        let first = try ProfileFixture(), second = try ProfileFixture()
        let winner = try first.write("ptest-p", validLpar + "description: first\n")
        try first.write("ptest-p.yml", validLpar + "description: yml beside yaml\n")
        try second.write("ptest-p", validWpar + "description: second\n")
        let onlySecond = try second.write("ptest-q.yml", validWpar)
        try second.write("ptest-broken", "kind: lpar\nweight: [\n")
        try second.write("Not-A-Name", validWpar)
        let store = ProfileStore(searchPath: [first.directory, "/nonexistent-ptest", second.directory])

        #expect(try store.locate("ptest-p") == winner)
        #expect(try store.locate("ptest-q") == onlySecond)
        #expect(try store.resolve("ptest-p").description == "first")

        let listings = store.list()
        #expect(listings.map(\.name) == ["ptest-p", "ptest-p", "Not-A-Name", "ptest-broken", "ptest-p", "ptest-q"])
        #expect(listings.map(\.shadowedBy) == [nil, winner, nil, nil, winner, nil])
        #expect(listings[0].kind == .lpar && listings[4].kind == .wpar && listings[4].description == "second")
        #expect(listings[2].problem?.contains("not a valid profile name") == true)
        #expect(listings[3].problem?.contains("malformed YAML") == true)
        #expect(listings[3].kind == nil)
        #expect(listings[5].problem == nil && listings[5].kind == .wpar)
    }

    @Test func aPathIsTakenAsIs() throws {
        let fixture = try ProfileFixture()
        let file = try fixture.write("ptest-own.yaml", validLpar)
        let resolved = try ProfileStore(searchPath: []).resolve(file)
        #expect(resolved.name == "ptest-own" && resolved.file == file)
        #expect(throws: PartitionError.self) { try ProfileStore(searchPath: []).resolve(fixture.path("ptest-missing.yaml")) }
    }

    @Test(arguments: ["lpar-minimal", "lpar-disk", "wpar-system", "wpar-app"])
    func storedJSONRoundTrips(_ name: String) throws {
        let store = ProfileStore(searchPath: [shippedProfiles])
        let overrides = try ProfileOverrides.parse(name.hasPrefix("lpar") ? "desired_procs=2,cap=0.5" : "pids_max=99,hostname=web")
        let resolved = try store.resolve(name, overrides: overrides)
        let data = try JSONEncoder().encode(resolved)
        let loaded = try JSONDecoder().decode(ResolvedProfile.self, from: data)
        #expect(loaded == resolved)
        #expect(loaded.provenance == resolved.provenance)
        #expect(try loaded.revalidated() == resolved)
        // Overrides still apply to the loaded profile, and name their attribute when they fail.
        if name.hasPrefix("lpar") {
            #expect(throws: PartitionError(.invalidProfile, "-i desired_procs: processors: desired 3 is greater than max 2.")) {
                try loaded.applying(ProfileOverrides.parse("desired_procs=3"))
            }
        }
    }

    /// A stored definition that was tampered with does not load.
    @Test func tamperedJSONDoesNotLoad() throws {
        let resolved = try ProfileStore(searchPath: [shippedProfiles]).resolve("wpar-app")
        var object = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(resolved)) as? [String: Any])
        var settings = try #require(object["settings"] as? [String: Any])
        settings["mounts"] = [["source": "/etc", "target": "/hostetc"]]
        object["settings"] = settings
        let data = try JSONSerialization.data(withJSONObject: object)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ResolvedProfile.self, from: data) }
    }

    @Test func capabilityNumbersFollowTheKernel() {
        #expect(LinuxCapability.allCases.count == 41)
        #expect(LinuxCapability.chown.number == 0)
        #expect(LinuxCapability.netBindService.number == 10)
        #expect(LinuxCapability.sysAdmin.number == 21)
        #expect(LinuxCapability.auditWrite.number == 29)
        #expect(LinuxCapability.bpf.number == 39)
        #expect(LinuxCapability.checkpointRestore.number == 40)
        #expect(LinuxCapability(name: "CAP_NET_RAW") == .netRaw)
    }

    @Test func wparNetworkEncodesAsInAProfile() throws {
        let bridge = WparNetwork.bridge(WparBridgeNetwork(bridge: "partctl0", address: "10.77.0.2/24", gateway: "10.77.0.1"))
        for network in [WparNetwork.none, .loopback, bridge] {
            #expect(try JSONDecoder().decode(WparNetwork.self, from: JSONEncoder().encode(network)) == network)
        }
        #expect(String(decoding: try JSONEncoder().encode(WparNetwork.none), as: UTF8.self) == "\"none\"")
        if case .bridge(let value) = bridge { #expect(value.host == "10.77.0.2" && value.prefixLength == 24) }
    }
}
