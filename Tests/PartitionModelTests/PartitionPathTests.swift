import Testing
@testable import PartitionModel

@Suite struct PartitionPathTests {
    @Test(arguments: ["lp1", "a", "web-1", "db_2", "0abc", String(repeating: "a", count: 32)])
    func acceptsValidNames(_ text: String) throws {
        #expect(try PartitionName(text).rawValue == text)
    }

    @Test(arguments: [
        ("", "empty"), ("a/b", "'/'"), ("..", "'.'"), ("a<b", "'<'"), ("it's", "'''"), ("two words", "a space"),
        ("Upper", "uppercase"), (String(repeating: "x", count: 100), "100 characters"), ("-lead", "start with"),
        ("_lead", "start with"), ("tab\there", "control"), ("é", "non-ASCII"), ("a;rm", "';'"), ("$(x)", "'$'"),
    ])
    func refusesBadNames(_ text: String, _ expected: String) {
        do {
            _ = try PartitionName(text)
            Issue.record("\(text) was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(expected), "\(error.message)")
            #expect(!error.message.contains("\n"))
        }
    }

    @Test func parsesPaths() throws {
        #expect(try PartitionPath("/").isRoot)
        #expect(try PartitionPath("lp1").description == "lp1")
        #expect(try PartitionPath("/lp1").description == "lp1")
        let nested = try PartitionPath("lp1/web")
        #expect(nested.depth == 2)
        #expect(nested.parent?.description == "lp1")
        #expect(nested.name?.rawValue == "web")
    }

    @Test(arguments: ["", "lp1/web/x", "lp1//web", "lp1/", "../etc", "lp1/../x", "lp1/WEB"])
    func refusesBadPaths(_ text: String) {
        #expect(throws: PartitionError.self) { try PartitionPath(text) }
    }
}

@Suite struct ByteSizeTests {
    @Test(arguments: [("384MiB", 384 << 20), ("1GiB", 1 << 30), ("512M", 512 << 20), ("2G", 2 << 30),
                      ("1.5GiB", 3 << 29), ("64 KiB", 64 << 10), ("1GB", 1_000_000_000), ("4096B", 4096)])
    func parses(_ text: String, _ bytes: Int) throws {
        #expect(try ByteSize(parsing: text).bytes == UInt64(bytes))
    }

    @Test(arguments: ["512", "", "MiB", "12XB", "-1MiB", "1..5GiB", "99999999999999999999TiB", "1e3MiB"])
    func refuses(_ text: String) {
        #expect(throws: PartitionError.self) { try ByteSize(parsing: text) }
    }

    @Test func printsShortestForm() {
        #expect(ByteSize.mebibytes(384).description == "384MiB")
        #expect(ByteSize.mebibytes(2048).description == "2GiB")
        #expect(ByteSize(bytes: 1000).description == "1000B")
    }
}
