import Testing
import PartitionCore
import PartitionModel
import PartitionProfiles
@testable import PartitionCommands

/// The output contract of docs/output.md: one field set for every kind, `-F` pairs that `-i`
/// reads back, filters on the JSON value, one shape per answer, one exit status per kind of error.
@Suite struct OutputContractUnitTests {
    static let system = PartitionRecord(name: "host", path: "/", kind: .system, state: .running, fields: [
        ("procs", .int(2)), ("assigned_procs", .int(1)), ("free_procs", .int(1)),
        ("mem", .bytes(8 << 30)), ("assigned_mem", .bytes(1 << 30)), ("free_mem", .bytes(7 << 30)),
        ("hypervisor", .string("libvirt 9.0.0")),
    ])
    static let lpar = PartitionRecord(name: "lp1", path: "lp1", kind: .lpar, state: .running, fields: [
        ("profile", .string("lpar-minimal")), ("autostart", .bool(false)), ("uuid", .string("0d1e")),
        ("procs", .int(1)), ("desired_procs", .int(1)), ("max_procs", .int(2)),
        ("mem", .bytes(256 << 20)), ("desired_mem", .bytes(256 << 20)), ("max_mem", .bytes(512 << 20)),
        ("weight", .int(100)), ("cap", .none), ("accel", .string("tcg")),
    ])
    static let hostWpar = PartitionRecord(name: "tools", path: "tools", kind: .wpar, state: .running, type: "system", fields: [
        ("cpu_weight", .int(100)), ("cpu_max", .number(0.5)), ("memory_max", .bytes(128 << 20)), ("pid", .int(4242)),
    ])
    static let nested = PartitionRecord(name: "tools", path: "lp1/tools", kind: .wpar, state: .defined, type: "system")

    /// The keys of a JSON object, in order, by a small scan (the values are flat here).
    static func keys(_ json: String) -> [String] {
        var keys: [String] = []
        var index = json.startIndex
        var depth = 0
        var inString = false
        var start: String.Index?
        while index < json.endIndex {
            let character = json[index]
            if inString {
                if character == "\\" { index = json.index(after: index) } else if character == "\"" {
                    inString = false
                    let after = json.index(after: index)
                    if depth == 1, after < json.endIndex, json[after] == ":", let start { keys.append(String(json[json.index(after: start)..<index])) }
                }
            } else if character == "\"" {
                inString = true
                start = index
            } else if character == "{" || character == "[" {
                depth += 1
            } else if character == "}" || character == "]" {
                depth -= 1
            }
            index = json.index(after: index)
        }
        return keys
    }

    @Test func everyKindHasTheSameFields() {
        let shapes = [Self.system, Self.lpar, Self.hostWpar, Self.nested].map { Self.keys(JSONOutput.object($0)) }
        #expect(shapes[0].count == PartitionRecord.knownFields.count)
        #expect(shapes.allSatisfy { $0 == PartitionRecord.knownFields.map(\.0) })
        #expect(!shapes[0].contains("cpus"))
    }

    @Test func absentValuesAreNullInJSONAndDashInText() {
        let json = JSONOutput.object(Self.nested)
        #expect(json.contains(#""memory_max":null"#) && json.contains(#""uuid":null"#) && json.contains(#""note":null"#))
        #expect(TextOutput.values([Self.nested], fields: ["path", "memory_max"], delimiter: ",", header: false) == "lp1/tools,-")
    }

    @Test func dashFieldsRestrictJSON() throws {
        let format = try TextOutput.fieldList("path,state,mem")
        #expect(JSONOutput.object(Self.lpar, only: format.fields) == #"{"path":"lp1","state":"running","mem":268435456}"#)
        #expect(JSONOutput.records([Self.lpar, Self.nested], only: ["path"]) == #"[{"path":"lp1"},{"path":"lp1/tools"}]"#)
        var root = Self.system
        root.children = [Self.lpar]
        #expect(JSONOutput.tree(root, only: ["path"]) == #"{"path":"/","children":[{"path":"lp1","children":[]}]}"#)
    }

    @Test func pairsAreWhatDashIReads() throws {
        let fields = ["desired_mem", "max_mem", "desired_procs", "max_procs", "weight", "cap", "autostart", "accel"]
        let line = TextOutput.pairs([Self.lpar], fields: fields)
        #expect(line == "desired_mem=256MiB,max_mem=512MiB,desired_procs=1,max_procs=2,weight=100,autostart=no,accel=tcg")
        let parsed = try ProfileOverrides.parse(line)
        #expect(parsed.assignments.map(\.attribute) == ["desired_mem", "max_mem", "desired_procs", "max_procs", "weight", "autostart", "accel"])
        #expect(try ByteSize(parsing: parsed.assignments[0].value).bytes == 256 << 20)
        let wpar = TextOutput.pairs([Self.hostWpar], fields: ["cpu_weight", "cpu_max", "memory_max", "memory_high"])
        #expect(wpar == "cpu_weight=100,cpu_max=0.5,memory_max=128MiB")
        #expect(try ProfileOverrides.parse(wpar).assignments.count == 3)
    }

    @Test(arguments: [
        ("kind=LPAR", true), ("kind=lpar", true), ("state=RUNNING", true), ("mem=268435456", true), ("mem=256MiB", true),
        ("autostart=false", true), ("autostart=no", true), ("cap=null", true), ("cap=-", true), ("accel=TCG", true),
        ("kind=wpar", false), ("mem=512MiB", false), ("autostart=true", false), ("uuid=null", false),
    ])
    func filtersCompareWithTheJSONValueIgnoringCase(_ filter: String, _ matches: Bool) throws {
        #expect(try Filters.parse([filter]).matches(Self.lpar) == matches)
    }

    @Test(arguments: ["colour=red", "cpus=2", "=x", "state"])
    func unknownFilterFieldsAreRefused(_ filter: String) {
        do {
            _ = try Filters.parse([filter])
            Issue.record("accepted \(filter)")
        } catch {
            #expect(ExitStatus.of(error) == ExitStatus.refused)
        }
    }

    @Test func treeFilterKeepsAncestors() throws {
        var lpar = Self.lpar
        lpar.children = [Self.nested]
        var root = Self.system
        root.children = [lpar, Self.hostWpar]
        let pruned = try Filters.parse(["state=defined"]).pruned(root)
        #expect(pruned.children.map(\.path) == ["lp1"])
        #expect(pruned.children[0].children.map(\.path) == ["lp1/tools"])
        let none = try Filters.parse(["state=paused"]).pruned(root)
        #expect(none.path == "/" && none.children.isEmpty)
        #expect(JSONOutput.tree(none).hasPrefix("{") && JSONOutput.tree(none).hasSuffix("\"children\":[]}"))
    }

    @Test func queryListsPathsNotBareNames() {
        let other = PartitionRecord(name: "tools", path: "lp2/tools", kind: .wpar, state: .defined, type: "system")
        let table = TextOutput.table([Self.nested, other], columns: TextOutput.defaultColumns, header: true)
        let lines = table.split(separator: "\n")
        #expect(lines[0].hasPrefix("PATH"))
        #expect(lines[1].hasPrefix("lp1/tools") && lines[2].hasPrefix("lp2/tools"))
    }

    @Test func systemTextShowsTotalAndFree() {
        let text = TextOutput.tree(Self.system)
        #expect(text.contains("2 CPU") && text.contains("8GiB") && text.contains("free 1 CPU 7GiB"))
    }

    @Test(arguments: [
        (PartitionError.Code.invalidArgument, Int32(2)), (.invalidProfile, 2), (.outOfRange, 2), (.notFound, 2), (.alreadyExists, 2),
        (.unmanaged, 2), (.unsupported, 2), (.invalidState, 1), (.busy, 1), (.unavailable, 1), (.timeout, 1),
        (.permissionDenied, 1), (.libvirt, 1), (.system, 1), (.agent, 1), (.internal, 1),
    ])
    func exitStatusByCode(_ code: PartitionError.Code, _ status: Int32) {
        #expect(ExitStatus.of(PartitionError(code, "x")) == status)
    }

    @Test(arguments: [(["qurey"], "query"), (["tre"], "tree"), (["actiavte", "lp1"], "activate"), (["shtudown"], "shutdown")])
    func mistypedVerbsGetASuggestion(_ arguments: [String], _ verb: String) throws {
        let refusal = try #require(VerbCheck.refusal(arguments))
        #expect(refusal.message.contains("Did you mean '\(verb)'?"))
        #expect(ExitStatus.of(refusal) == ExitStatus.refused)
        #expect(!refusal.message.contains("\n"))
    }

    @Test func helpOfAnUnknownTopicIsRefused() throws {
        let refusal = try #require(VerbCheck.refusal(["help", "nosuch"]))
        #expect(refusal.message.hasPrefix("'nosuch' is not a verb."))
        #expect(VerbCheck.refusal(["help", "query"]) == nil)
        #expect(VerbCheck.refusal(["help"]) == nil)
        #expect(VerbCheck.refusal(["query", "lp1"]) == nil)
        #expect(VerbCheck.refusal(["--version"]) == nil)
        #expect(VerbCheck.refusal(["xyzzy"])?.message.contains("Did you mean") == false)
    }
}
