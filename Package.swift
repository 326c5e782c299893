// swift-tools-version:6.0
import PackageDescription

// Targets follow DESIGN §8; imports point downward only:
// partctl -> PartitionCommands -> PartitionCore -> {PartitionProfiles, PartitionImages, PartitionNetworks, LibvirtKit, WorkloadEngine, AgentProtocol} -> SystemKit -> PartitionModel
// (docs/architecture.md).
// partagent -> {WorkloadEngine, AgentProtocol} -> PartitionModel: no Yams, no full Foundation (at most
// FoundationEssentials), so the agent and the guest's initramfs stay small.
let package = Package(
    name: "partctl",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "partctl", targets: ["partctl"]),
        .executable(name: "partctl-supervisor", targets: ["partctl-supervisor"]),
        .executable(name: "partagent", targets: ["partagent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
    ],
    targets: [
        // libvirt's headers (Debian's libvirt-dev, in /usr/include). No pkg-config: its `-lvirt` would
        // bind libvirt at every start; CLibvirtLoader binds it on first use instead.
        .systemLibrary(
            name: "CLibvirt",
            providers: [.apt(["libvirt-dev"])]
        ),
        // libseccomp's headers (Debian's libseccomp-dev). Linked statically into WorkloadEngine (its
        // archive, not the .so): partctl and partagent load no extra library at start, and the guest
        // image needs nothing more.
        .systemLibrary(
            name: "CSeccomp",
            providers: [.apt(["libseccomp-dev"])]
        ),
        // The values every layer shares (names, paths, states, profiles as decoded, the error type).
        // No Yams and no Foundation: the in-guest agent links it.
        .target(name: "PartitionModel"),
        // What several targets did at the OS level each in their own copy: file locks, atomic files,
        // the boot id, errno as PartitionError, write-all and bounded reads, raw terminals, the `~.`
        // escape. Glibc only (no Foundation, no swift-system); it throws PartitionModel's error type.
        .target(name: "SystemKit", dependencies: ["PartitionModel"]),
        // The image store (docs/images.md): names, manifests, digests, staging and commit. Host-side, no
        // libvirt and no Yams: the libvirt pool and the producers live in PartitionCore/Images.
        // Optimised in debug builds too: an image's digest (SHA-256 in Swift over every file of a tree of
        // hundreds of MB) is ~40x slower unoptimised, minutes for debian-12 in `make test`.
        .target(name: "PartitionImages", dependencies: ["PartitionModel", "SystemKit"],
                swiftSettings: [.unsafeFlags(["-O"], .when(configuration: .debug))]),
        // partctl's managed networks (docs/networks.md): their definitions and lease books, the host
        // bridge, dnsmasq, and partctl's nftables table (NAT, isolation, port forwards). Host-side only.
        .target(name: "PartitionNetworks", dependencies: ["PartitionModel", "SystemKit"]),
        // Profiles read from YAML (Yams), resolved along `extends`, checked against the host, with the
        // origin of every value: host-side only, the agent never links it.
        .target(
            name: "PartitionProfiles",
            dependencies: ["PartitionModel", .product(name: "Yams", package: "Yams")]
        ),
        // libvirt's functions bound on first use (dlopen) instead of at every start: libvirt.so pulls
        // in 56 shared libraries whose binding cost every partctl command ~11 ms, also those that
        // never touch an LPAR (profiles, WPARs). Nothing else lives here.
        .target(name: "CLibvirtLoader", dependencies: ["CLibvirt"], linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "LibvirtKit",
            dependencies: ["CLibvirt", "CLibvirtLoader", "PartitionModel", "SystemKit"]
        ),
        // The fork-to-exec child path and nothing else (DESIGN §5).
        .target(name: "CSpawn"),
        .target(
            name: "WorkloadEngine",
            dependencies: [
                "CSpawn", "CSeccomp", "PartitionModel", "SystemKit",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            linkerSettings: [.linkedLibrary(":libseccomp.a")]
        ),
        // One small process per running WPAR: Glibc only (no Foundation), its memory is the density figure.
        .executableTarget(name: "partctl-supervisor", path: "Sources/WorkloadSupervisor"),
        // Drives the engine from its own process: fault-injection tests and run-path timing.
        .executableTarget(name: "wpar-probe", dependencies: ["WorkloadEngine", "PartitionModel"], path: "Sources/WorkloadProbe"),
        // The host <-> guest agent wire contract: frames, operations, strict decoding; the values it
        // carries are the engine's own types (WorkloadSpec, WorkloadStatus, ...). No libvirt.
        .target(name: "AgentProtocol", dependencies: ["PartitionModel", "WorkloadEngine"]),
        // The in-guest agent: the engine behind the agent protocol. Never links libvirt.
        .executableTarget(name: "partagent", dependencies: ["WorkloadEngine", "AgentProtocol", "SystemKit"]),
        .target(
            name: "PartitionCore",
            dependencies: ["PartitionModel", "PartitionProfiles", "PartitionImages", "PartitionNetworks", "LibvirtKit", "WorkloadEngine", "AgentProtocol", "SystemKit"]
        ),
        .target(
            name: "PartitionCommands",
            dependencies: [
                "PartitionCore", "PartitionProfiles", "PartitionImages", "PartitionNetworks", "SystemKit",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "partctl",
            dependencies: ["PartitionCommands"]
        ),
        // Test-only: what every test suite shares (running a program with a timeout, waiting for a
        // condition, ptest- names, clean-up). Foundation and Glibc only, so the hermetic suites use it too.
        .target(name: "PartctlTestSupport", path: "Tests/TestSupport"),
        // Hermetic (make unit-test: no root, no libvirtd, no namespaces): PartitionModelTests,
        // AgentProtocolTests, PartitionCommandsTests, PartitionCoreTests, SystemKitTests and parts of LibvirtKitTests
        // and WorkloadEngineTests. The rest needs root, libvirtd or the guest image (docs/testing.md).
        .testTarget(name: "PartitionModelTests", dependencies: ["PartitionModel", "PartitionProfiles", "PartctlTestSupport"]),
        .testTarget(name: "LibvirtKitTests", dependencies: ["LibvirtKit", "PartctlTestSupport"]),
        .testTarget(name: "SystemKitTests", dependencies: ["SystemKit", "PartctlTestSupport"]),
        .testTarget(name: "PartitionNetworksTests", dependencies: ["PartitionNetworks", "SystemKit", "PartctlTestSupport"]),
        .testTarget(name: "PartitionImagesTests", dependencies: ["PartitionImages", "SystemKit", "PartctlTestSupport"]),
        .testTarget(name: "WorkloadEngineTests", dependencies: ["WorkloadEngine", "SystemKit", "PartctlTestSupport"]),
        .testTarget(name: "PartitionCoreTests", dependencies: ["PartitionCore", "PartitionImages", "PartctlTestSupport"]),
        .testTarget(name: "PartitionCommandsTests", dependencies: ["PartitionCommands", "PartctlTestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: ["PartitionModel", "PartctlTestSupport"]),
        .testTarget(name: "AgentProtocolTests", dependencies: ["AgentProtocol", "WorkloadEngine", "PartctlTestSupport"]),
        // Needs a real libvirtd and the guest image: an LPAR booted, its agent driven from the host.
        .testTarget(name: "NestedTests", dependencies: ["PartitionCore", "PartitionImages", "AgentProtocol", "WorkloadEngine", "PartctlTestSupport"]),
        // The Debian image: a real mmdebstrap build (cached between runs), its disk booted in an LPAR.
        .testTarget(name: "DebianImageTests", dependencies: ["PartitionCore", "PartitionImages", "PartctlTestSupport"]),
    ]
)

// libFuzzer targets (`make fuzz`, docs/security.md "Fuzzing"): only in the package when PARTCTL_FUZZ is
// set, so ordinary builds neither compile them nor need libFuzzer. `make fuzz` sets it and builds them
// in their own scratch path (.build-fuzz) with -sanitize=fuzzer,address; each main runs libFuzzer's driver.
if Context.environment["PARTCTL_FUZZ"] != nil {
    package.targets += [
        .executableTarget(name: "FuzzProfiles", dependencies: ["PartitionProfiles", "PartitionModel"],
                          path: "fuzz/Sources/FuzzProfiles"),
        .executableTarget(name: "FuzzAgentFrames", dependencies: ["AgentProtocol", "PartitionModel", "WorkloadEngine"],
                          path: "fuzz/Sources/FuzzAgentFrames"),
    ]
}
