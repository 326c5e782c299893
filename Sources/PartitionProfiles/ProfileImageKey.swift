import PartitionModel

/// `image: NAME`, a key of both kinds: an image of the store (docs/images.md). The name is checked
/// here by the store's own rule; whether the image exists is checked where the partition is made.
enum ProfileImageKey {
    static func decode(_ node: ProfileNode?, _ reader: ProfileReader) throws(PartitionError) -> String? {
        try reader.scalar(node, at: ProfileKeyPath.root / "image", expecting: "an image name like debian-12", orNone: true,
                          parse: { ImageNameRule.problem($0) == nil ? $0 : nil },
                          problem: { text in
                              "the image name \(ProfileRules.quoted(text)) \(ImageNameRule.problem(text) ?? "is not an image name.")"
                          },
                          render: { $0 })
    }
}
