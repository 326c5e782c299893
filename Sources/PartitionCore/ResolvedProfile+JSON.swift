#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import PartitionModel
import PartitionProfiles

/// The resolved profile as partctl stores it with a definition (LPAR metadata, WPAR state files).
extension ResolvedProfile {
    func jsonString() throws(PartitionError) -> String {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        } catch {
            throw PartitionError(.internal, "The resolved profile '\(name)' cannot be stored: \(error).")
        }
    }

    /// Reads a stored profile back; it is validated again, so a corrupted definition is an error naming it.
    static func decode(json: String, domain: String) throws(PartitionError) -> ResolvedProfile {
        do {
            return try JSONDecoder().decode(ResolvedProfile.self, from: Data(json.utf8))
        } catch let DecodingError.dataCorrupted(context) {
            throw PartitionError(.invalidProfile, "The stored definition of '\(domain)' is not valid: \(context.debugDescription)")
        } catch {
            throw PartitionError(.invalidProfile, "The stored definition of '\(domain)' cannot be read: \(error).")
        }
    }
}

/// Just the LPAR values of a stored profile, for listings: `tree` over a thousand domains must not
/// re-resolve and re-validate every profile (commands that change a partition still do).
struct StoredLparValues: Decodable {
    let lpar: LparProfile?

    static func decode(json: String) -> LparProfile? {
        (try? JSONDecoder().decode(StoredLparValues.self, from: Data(json.utf8)))?.lpar
    }
}
