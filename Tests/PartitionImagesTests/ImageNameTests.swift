import Testing
import PartitionModel
@testable import PartitionImages

@Suite("Image names")
struct ImageNameTests {
    @Test(arguments: ["debian-12", "a", "0", "app_1.2-rc", String(repeating: "x", count: 63)])
    func accepted(text: String) throws {
        #expect(try ImageName(validating: text).text == text)
    }

    @Test(arguments: [
        ("", "is empty"),
        ("a/b", "contains '/'"),
        ("/etc", "contains '/'"),
        ("..", "contains '..'"),
        ("a..b", "contains '..'"),
        ("Debian", "uppercase"),
        (String(repeating: "x", count: 64), "64 characters long"),
        ("-x", "must start with"),
        (".hidden", "must start with"),
        ("a b", "contains ' '"),
        ("a\nb", "contains '\\n'"),
        ("é", "must start with"),
        ("a:b", "contains ':'"),
    ])
    func refused(text: String, words: String) {
        do {
            _ = try ImageName(validating: text)
            Issue.record("'\(text)' was accepted")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains(words), "\(error.message)")
            #expect(!error.message.contains("\n"), "not one line: \(error.message)")
        }
    }
}

@Suite("SHA-256")
struct SHA256Tests {
    private func digest(_ bytes: [UInt8]) -> String {
        var hasher = SHA256()
        hasher.update(bytes)
        return SHA256.hex(hasher.finish())
    }

    @Test func knownVectors() {
        #expect(digest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(digest(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(digest([UInt8](repeating: 0x61, count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func piecesMakeTheSameDigest() {
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var hasher = SHA256()
        for size in [1, 63, 64, 65, 3, 200, 604] {
            let start = [1, 63, 64, 65, 3, 200, 604].prefix { $0 != size }.reduce(0, +)
            hasher.update(Array(bytes[start..<start + size]))
        }
        #expect(SHA256.hex(hasher.finish()) == digest(bytes))
    }
}
