// swift-tools-version:6.1
// Benchmarks of the nvlb packet path (package-benchmark), kept in a nested package
// so that `swift build` / `swift test` of the root package never build them
// (swift-nio's layout). Run from this directory:
//   swift package benchmark                      # run and print
//   swift package benchmark thresholds check     # fail when an allocation enters the hot path
import PackageDescription

let package = Package(
    name: "NVLBBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "nvlb", path: ".."),
        // The malloc interposer backs the malloc metrics on Swift 6.3; the package's other
        // default trait (a Linux ARC runtime interposer) is not available here.
        // (The repository was renamed from package-benchmark; the old identity only warns.)
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "NVLBBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "NVLBDataplane", package: "nvlb"),
                .product(name: "NVLBRuntime", package: "nvlb"),
                .product(name: "NVLBTraffic", package: "nvlb"),
                .product(name: "NVLBTestSupport", package: "nvlb"),
            ],
            path: "Benchmarks/NVLBBenchmarks",
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark")
            ]
        )
    ]
)
