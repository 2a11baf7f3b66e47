// swift-tools-version:6.1
import PackageDescription

/// Release-only settings for the packet path. Each is justified by a measurement
/// recorded in README "Performance" (exclusivity checks off: 1.21× the packets per second
/// of `nvlb bench`).
let hotPathSettings: [SwiftSetting] = [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))
]

let package = Package(
    name: "nvlb",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nvlb", targets: ["nvlb"]),
        .library(name: "NVLBDataplane", targets: ["NVLBDataplane"]),
        .library(name: "NVLBRuntime", targets: ["NVLBRuntime"]),
        .library(name: "NVLBControl", targets: ["NVLBControl"]),
        /// Traffic generator, bench frames and seeded generators, shared by the tools, the
        /// tests and `Benchmarks/`.
        .library(name: "NVLBTraffic", targets: ["NVLBTraffic"]),
        /// Example policies, actors and golden frames, shared by the tests and `Benchmarks/`.
        .library(name: "NVLBTestSupport", targets: ["NVLBTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // MARK: C libraries and shims
        .systemLibrary(
            name: "CPcap", pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]),
        .systemLibrary(
            name: "CNuma",
            providers: [.apt(["libnuma-dev"])]),
        .target(name: "CNVLBShims"),
        .target(name: "CNVLBSpawn"),
        // AF_XDP sockets and nvlb's XDP program (libxdp, libbpf): the af_xdp I/O backend (docs/afxdp.md).
        .target(name: "CNVLBXDP", linkerSettings: [.linkedLibrary("xdp"), .linkedLibrary("bpf")]),

        // MARK: Packet path (no I/O, no threads)
        .target(name: "NVLBWire", swiftSettings: hotPathSettings),
        .target(name: "NVLBBalancing", dependencies: ["NVLBWire"], swiftSettings: hotPathSettings),
        .target(name: "NVLBPolicy", dependencies: ["NVLBWire", "NVLBBalancing"], swiftSettings: hotPathSettings),
        .target(
            name: "NVLBDataplane",
            dependencies: ["NVLBWire", "NVLBBalancing", "NVLBPolicy", "CNVLBShims"],
            swiftSettings: hotPathSettings),

        // MARK: I/O, threads, control
        .target(name: "NVLBIO", dependencies: ["CPcap", "CNVLBShims", "CNVLBXDP", "NVLBWire"]),
        .target(
            name: "NVLBTraffic",
            dependencies: ["NVLBWire", "NVLBBalancing", "NVLBPolicy", "NVLBDataplane", "NVLBIO"]),
        .target(
            name: "NVLBRuntime",
            dependencies: [
                "NVLBDataplane", "NVLBIO", "NVLBTraffic", "CNuma", "CNVLBShims",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPathSettings),
        .target(
            name: "NVLBControl",
            dependencies: ["NVLBPolicy", "NVLBBalancing", "NVLBIO", .product(name: "Yams", package: "Yams")]),
        .target(
            name: "NVLBHealth",
            dependencies: [
                "NVLBWire", "NVLBBalancing", "NVLBPolicy", "NVLBDataplane", "NVLBIO",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "NVLBManagement",
            dependencies: [
                "NVLBControl", "NVLBPolicy",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["Routes/OpenAPIDocument.py", "Console/assets"]),
        // BGP announcements through an ExaBGP child (docs/operations.md "Several instances behind ECMP").
        .target(name: "NVLBRouting", dependencies: ["NVLBPolicy", "NVLBWire", "NVLBIO", "CNVLBSpawn"]),
        .executableTarget(
            name: "nvlb",
            dependencies: [
                "NVLBControl", "NVLBRuntime", "NVLBIO", "NVLBHealth", "NVLBManagement", "NVLBRouting", "NVLBTraffic",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                "CNVLBShims",
            ]),
        // Lab tool: a user-space Hyper-V host (NVGRE endpoint) for end-to-end tests.
        .executableTarget(
            name: "nvlb-hvhost",
            dependencies: [
                "NVLBWire", "NVLBBalancing", "NVLBPolicy", "NVLBDataplane", "NVLBIO", "NVLBControl", "CNVLBShims",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // MARK: Lab and benchmark support (not part of the product)
        // Plain forwarders for the live benchmark and network namespaces for tests and the lab.
        .target(name: "NVLBLabSupport", dependencies: ["NVLBIO", "CPcap", "CNVLBShims"]),

        // MARK: Tests
        .target(
            name: "NVLBTestSupport", dependencies: ["NVLBWire", "NVLBPolicy", "NVLBControl", "NVLBDataplane"],
            path: "Tests/NVLBTestSupport"),
        .testTarget(
            name: "NVLBWireTests",
            dependencies: ["NVLBWire", .product(name: "PropertyBased", package: "swift-property-based")]),
        .testTarget(name: "NVLBBalancingTests", dependencies: ["NVLBBalancing"]),
        .testTarget(name: "NVLBControlTests", dependencies: ["NVLBControl", "NVLBTestSupport"]),
        .testTarget(
            name: "NVLBDataplaneTests",
            dependencies: [
                "NVLBDataplane", "NVLBControl", "NVLBTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "NVLBRuntimeTests", dependencies: ["NVLBRuntime", "NVLBTraffic", "NVLBTestSupport"]),
        .testTarget(
            name: "NVLBCLITests", dependencies: ["NVLBIO", "NVLBLabSupport", "NVLBWire", "NVLBTestSupport"]),
        .testTarget(
            name: "NVLBHealthTests", dependencies: ["NVLBHealth", "NVLBControl", "NVLBTestSupport", "NVLBDataplane"]),
        .testTarget(
            name: "NVLBManagementTests",
            dependencies: [
                "NVLBManagement", "NVLBControl", "NVLBTestSupport", "NVLBRuntime", "NVLBDataplane",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
        .testTarget(name: "NVLBLabTests", dependencies: ["NVLBTestSupport"]),
        .testTarget(name: "NVLBRoutingTests", dependencies: ["NVLBRouting", "NVLBControl", "NVLBTestSupport"]),
    ]
)
