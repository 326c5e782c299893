import ArgumentParser
import PartitionModel

/// Refuses an unknown verb before ArgumentParser does, with a suggestion: `partctl qurey` says
/// "did you mean 'query'?", and `partctl help nosuch` is refused instead of printing the overview.
enum VerbCheck {
    static var verbs: [String] {
        var names = ["help"]
        for group in Partctl.configuration.groupedSubcommands {
            for command in group.subcommands {
                if let name = command.configuration.commandName { names.append(name) }
            }
        }
        return names
    }

    static func refusal(_ arguments: [String]) -> PartitionError? {
        guard let first = arguments.first, !first.hasPrefix("-") else { return nil }
        let known = verbs
        if first == "help" {
            guard arguments.count > 1, let topic = arguments.dropFirst().first(where: { !$0.hasPrefix("-") }),
                  !known.contains(topic) else { return nil }
            return unknown(topic, known, hint: "partctl help")
        }
        guard !known.contains(first) else { return nil }
        return unknown(first, known, hint: "partctl --help")
    }

    static func unknown(_ word: String, _ known: [String], hint: String) -> PartitionError {
        let suggestion = closest(to: word, among: known).map { " Did you mean '\($0)'?" } ?? ""
        return PartitionError(.invalidArgument, "'\(word)' is not a verb.\(suggestion) See '\(hint)'.")
    }

    /// The candidate within edit distance 2 (or 1 for words of up to 4 letters), if one is nearest.
    static func closest(to word: String, among candidates: [String]) -> String? {
        let limit = word.count <= 4 ? 1 : 2
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(Array(word), Array(candidate))
            if distance <= limit, distance < (best?.1 ?? Int.max) { best = (candidate, distance) }
        }
        if best == nil { return candidates.first { $0.hasPrefix(word) && word.count >= 2 } }
        return best?.0
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit.
    static func editDistance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
