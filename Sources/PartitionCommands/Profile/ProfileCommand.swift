import ArgumentParser

/// `partctl profile list|show|check|explain`.
struct ProfileCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "profile",
        abstract: "List, show, check and explain profiles.",
        discussion: "Profiles are looked up by name in ./profiles, /etc/partctl/profiles and $PARTCTL_PROFILES, or given as a path.",
        subcommands: [ProfileList.self, ProfileShow.self, ProfileCheck.self, ProfileExplain.self])
}
