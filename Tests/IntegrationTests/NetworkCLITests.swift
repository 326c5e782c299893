import Foundation
import PartctlTestSupport
import Testing

/// `partctl network` end to end, as root under the test lock, in the machine's own
/// $PARTCTL_ROOT/networks: a ptest- network created, listed and shown, refused input (exit 2,
/// nothing made), shown down once its dnsmasq is killed, and removed leaving nothing.
@Suite("network command", .serialized)
struct NetworkCLITests {
    @Test func createListShowRemove() throws {
        let name = "ptest-" + String(UInt32.random(in: 0x10_0000...0xff_ffff), radix: 16)
        var created: String?
        defer { if let created { _ = try? CLI.partctl("network", "remove", created) } }
        var subnet = ""
        for _ in 0..<20 {
            subnet = "10.232.\(UInt32.random(in: 100...199)).0/24"
            let result = try CLI.partctl("network", "create", name, "--subnet", subnet, "--no-nat")
            if result.status == 0 { created = name; break }
            #expect(result.status == 2, "\(result)")
        }
        try #require(created != nil, "no free subnet")

        let list = try CLI.partctl("network", "list", "-F", "name,kind,subnet,nat,state,users")
        #expect(list.stdout.split(separator: "\n").contains("\(name),partctl,\(subnet),no,up,-"), "\(list)")
        #expect(list.stdout.contains("partctl0,partctl,"), "\(list)")
        let json = try CLI.partctl("network", "show", name, "--json")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["state"] as? String == "up" && object?["nat"] as? Bool == false, "\(json)")
        #expect(object?["dnsmasq_pid"] is Int, "\(json)")

        // Refusals: one line, exit 2, nothing made.
        expectRefusal(try CLI.partctl("network", "create", name, "--subnet", "10.233.1.0/24"), status: 2, mentioning: ["exists already"])
        expectRefusal(try CLI.partctl("network", "create", "ptest-ovl", "--subnet", subnet), status: 2, mentioning: ["overlaps"])
        expectRefusal(try CLI.partctl("network", "create", "ptest-bad", "--subnet", "10.233.1.0/31"), status: 2, mentioning: ["--subnet"])
        expectRefusal(try CLI.partctl("network", "create", "ptest-a-very-long", "--subnet", "10.233.1.0/24"), status: 2, mentioning: ["at most 15"])
        expectRefusal(try CLI.partctl("network", "remove", "ptest-nothing"), status: 2, mentioning: ["no managed network"])
        #expect(!(try CLI.partctl("network", "list", "-F", "name").stdout.contains("ptest-ovl")))

        // A dead dnsmasq shows as down.
        if let pid = object?["dnsmasq_pid"] as? Int {
            kill(pid_t(pid), SIGKILL)
            #expect(try CLI.waitFor(5) { try CLI.partctl("network", "show", name, "-F", "state").stdout == "down\n" })
        }

        let removed = try CLI.partctl("network", "remove", name)
        #expect(removed.status == 0, "\(removed)")
        created = nil
        #expect(!(try CLI.partctl("network", "list", "-F", "name").stdout.contains(name)))
        let table = try CLI.run("/usr/sbin/nft", ["list", "table", "ip", "partctl"])
        #expect(!table.stdout.contains(name) && !table.stdout.contains(subnet), "\(table)")
    }
}
