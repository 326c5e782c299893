import Glibc

/// C copies of Swift strings and arrays for one call into CSpawn, freed together when the arena
/// goes away. The C side only reads them; the cloned child reads its own copy of this memory.
final class CArena {
    private var blocks: [UnsafeMutableRawPointer] = []

    deinit {
        for block in blocks { free(block) }
    }

    func string(_ text: String) -> UnsafePointer<CChar> {
        guard let copy = strdup(text) else { fatalError("out of memory copying a string for CSpawn") }
        blocks.append(UnsafeMutableRawPointer(copy))
        return UnsafePointer(copy)
    }

    func optionalString(_ text: String?) -> UnsafePointer<CChar>? {
        text.map(string)
    }

    /// A NULL-terminated array of C strings (argv, envp).
    func stringArray(_ items: [String]) -> UnsafePointer<UnsafePointer<CChar>?> {
        let pointers = array(items.map { Optional(string($0)) } + [nil])
        return pointers
    }

    func array<Element>(_ items: [Element]) -> UnsafePointer<Element> {
        let count = max(items.count, 1)
        guard let raw = malloc(count * MemoryLayout<Element>.stride) else { fatalError("out of memory for CSpawn") }
        blocks.append(raw)
        let typed = raw.bindMemory(to: Element.self, capacity: count)
        for (index, item) in items.enumerated() { (typed + index).initialize(to: item) }
        return UnsafePointer(typed)
    }
}
