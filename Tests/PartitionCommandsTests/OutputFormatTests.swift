import Testing
import PartitionCore
import PartitionModel
@testable import PartitionCommands

@Suite struct OutputFormatTests {
    static let lpar = PartitionRecord(name: "lp1", path: "lp1", kind: .lpar, state: .running, fields: [
        ("procs", .int(2)), ("max_procs", .int(2)), ("mem", .bytes(384 << 20)), ("max_mem", .bytes(512 << 20)),
        ("cap", .number(0.5)), ("accel", .string("tcg")), ("profile", .string("lpar-minimal")),
    ])
    static let foreign = PartitionRecord(name: "win \"x\"", path: "win \"x\"", kind: .lpar, state: .defined, managed: false,
                                         fields: [("procs", .int(1)), ("mem", .bytes(1 << 30)), ("cap", .none)])
    static let root = PartitionRecord(name: "host", path: "/", kind: .system, state: .running,
                                      fields: [("procs", .int(2)), ("mem", .bytes(8 << 30))], children: [lpar, foreign])

    @Test func fieldListKeepsItsDelimiter() throws {
        let comma = try TextOutput.fieldList("name,state,mem")
        #expect(comma.fields == ["name", "state", "mem"] && comma.delimiter == ",")
        let colon = try TextOutput.fieldList("name:procs")
        #expect(colon.delimiter == ":")
        #expect(TextOutput.values([Self.lpar], fields: colon.fields, delimiter: colon.delimiter, header: true) == "name:procs\nlp1:2")
    }

    @Test func fieldValuesCanBeFedBackToI() throws {
        let format = try TextOutput.fieldList("desired_mem,cap,mem")
        var record = Self.lpar
        record.fields.append(("desired_mem", .bytes(384 << 20)))
        let line = TextOutput.values([record], fields: format.fields, delimiter: ",", header: false)
        #expect(line == "384MiB,0.5,384MiB")
        // Every size printed parses back with the same rules -i uses.
        #expect(try ByteSize(parsing: "384MiB").bytes == 384 << 20)
    }

    @Test(arguments: ["bogus", "name,bogus", "", "name,,state"])
    func unknownFieldsAreRefused(_ spec: String) {
        #expect(throws: PartitionError.self) { try TextOutput.fieldList(spec) }
    }

    @Test func jsonHasTheStableFieldsFirstAndEscapes() {
        var out = ""
        JSONOutput.record(Self.foreign, children: false, into: &out)
        #expect(out.hasPrefix(#"{"name":"win \"x\"","path":"win \"x\"","kind":"lpar","state":"defined","type":null,"managed":false"#))
        #expect(out.contains(#""mem":1073741824"#))
        #expect(out.contains(#""cap":null"#))
        #expect(JSONOutput.records([]) == "[]")
    }

    @Test func treeJSONNestsChildren() {
        let json = JSONOutput.tree(Self.root)
        #expect(json.hasPrefix(#"{"name":"host","path":"/","kind":"system","state":"running""#))
        #expect(json.contains(#""children":[{"name":"lp1","path":"lp1","kind":"lpar","state":"running""#))
        #expect(json.contains(#""cap":0.5"#))
    }

    @Test func treeTextShowsStatesAndResources() {
        let text = TextOutput.tree(Self.root)
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("host"))
        #expect(lines[1].hasPrefix("├─ lp1") && lines[1].contains("running") && lines[1].contains("2/2 vCPU") && lines[1].contains("384MiB/512MiB"))
        #expect(lines[2].hasPrefix("└─ win \"x\" (unmanaged)") && lines[2].contains("defined"))
    }

    @Test func treeTextShowsAnLparsAddresses() {
        var lpar = Self.lpar
        lpar.fields.append(("ip", .string("192.168.122.57 fd00::57")))
        var root = Self.root
        root.children = [lpar]
        let line = TextOutput.tree(root).split(separator: "\n")[1]
        #expect(line.hasSuffix("tcg  192.168.122.57 fd00::57") || line.hasSuffix("tcg 192.168.122.57 fd00::57"), "\(line)")
        #expect(!TextOutput.tree(Self.root).contains("192.168"))
    }

    @Test func errorsInJSON() {
        let error = PartitionError(.notFound, "No partition named 'x' is defined.", partition: "x", operation: "activate")
        #expect(JSONOutput.error(error) == #"{"error":{"code":"not-found","message":"x: activate: No partition named 'x' is defined.","partition":"x","operation":"activate"}}"#)
    }

    @Test func filtersMatchEveryCondition() throws {
        let filters = try Filters.parse(["state=running", "kind=lpar"])
        #expect(filters.matches(Self.lpar))
        #expect(!filters.matches(Self.foreign))
        #expect(throws: PartitionError.self) { try Filters.parse(["state"]) }
        #expect(throws: PartitionError.self) { try Filters.parse(["colour=red"]) }
    }

    @Test func numbersPrintShort() {
        #expect(FieldValue.number(0.5).text == "0.5")
        #expect(FieldValue.number(1.25).text == "1.25")
        #expect(FieldValue.number(2).text == "2")
        #expect(FieldValue.number(0.05).text == "0.05")
    }
}

/// The command line's own refusals: one line naming the problem, before any work.
@Suite struct ParsingTests {
    @Test(arguments: [["define", "lp1"], ["shutdown", "lp1", "--within", "-3"], ["query", "-F"], ["frobnicate"],
                      ["modify", "lp1"], ["shutdown", "lp1", "--within", "99999999"], ["run", "--", "/bin/true"]])
    func refusalsAreOneLine(_ arguments: [String]) {
        do {
            var command = try Partctl.parseAsRoot(arguments)
            try command.validate()
            Issue.record("accepted \(arguments)")
        } catch {
            let refusal = PartctlMain.refusal(for: error, arguments: arguments)
            #expect(!refusal.message.contains("\n"), "\(refusal.message)")
            #expect(refusal.message.contains("--help"))
            #expect(refusal.code == .invalidArgument)
        }
    }
}
