// swift-tools-version:6.1
// libFuzzer harnesses of nvlb (docs/robustness.md "Fuzzing"), kept in a nested package so that
// `swift build` / `swift test` of the root package never build them with the fuzzer. Built by
// `make fuzz` with `-sanitize=fuzzer,address` in its own build folder. The invariants live in
// NVLBTestSupport (FuzzHarness.swift), where the test suite also replays the committed corpus.
import PackageDescription

let package = Package(
    name: "NVLBFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "nvlb", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzPipeline",
            dependencies: ["FuzzSupport", .product(name: "NVLBTestSupport", package: "nvlb")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzConfiguration",
            dependencies: ["FuzzSupport", .product(name: "NVLBTestSupport", package: "nvlb")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        .executableTarget(
            name: "FuzzManagement",
            dependencies: ["FuzzSupport", .product(name: "NVLBTestSupport", package: "nvlb")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
