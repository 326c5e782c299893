import PartitionImages
import PartitionModel

extension PartitionManager {
    /// The shipped profile `run --image` and `define --image` use when no --profile is given.
    public static let imageProfile = "wpar-image"

    /// The profile for `define NAME --image IMAGE` without --profile: wpar-image for an OCI image
    /// (an application WPAR whose process is the image's); other kinds need their profile named.
    public func defaultProfile(forImage name: String) throws(PartitionError) -> String {
        let image = try ImageStore(stateRoot: configuration.stateRoot).image(try ImageName(validating: name))
        guard image.kinds.contains(.oci) else {
            throw PartitionError(.invalidArgument,
                "The image '\(image.name)' is of kind \(image.kinds.map(\.rawValue).joined(separator: ",")), not oci: name the profile with --profile.")
        }
        return Self.imageProfile
    }
}
