import Benchmark

// nvlb packet-path benchmarks (README.md "Performance"). Names are `Area.What[.Size]`; they also name the
// static threshold files `Thresholds/NVLBBenchmarks.<name>.p90.json`.
//
// Every per-packet benchmark carries a `mallocCountTotal` threshold of 0: its committed
// threshold file makes `swift package benchmark thresholds check` fail as soon as one
// allocation per packet enters the path. Fixtures (policy, frames, pre-populated tables)
// are built in each benchmark's `setup`, outside the measured region.

enum Configurations {
    /// Metrics of the per-packet benchmarks (`instructions` is unavailable on the development VMs).
    ///
    /// No `.cpuTotal` here: package-benchmark samples it from /proc/self/stat in clock ticks
    /// (10 ms, so 0 or 10 ms per iteration of a few µs), and that sampling itself performs 16
    /// allocations inside every measured iteration, which would mask the zero-allocation
    /// threshold. Wall clock is the CPU time of these single-threaded loops.
    static var metrics: [BenchmarkMetric] { [.wallClock, .throughput, .mallocCountTotal] }

    /// No allocation at all, at any percentile.
    static var zeroAllocations: [BenchmarkMetric: BenchmarkThresholds] {
        [
            .mallocCountTotal: .init(
                relative: BenchmarkThresholds.Relative.strict, absolute: BenchmarkThresholds.Absolute.strict)
        ]
    }

    /// A per-operation benchmark: 1,000 operations per measured iteration, so that the
    /// reported (scaled) figures are per packet / per lookup / per checksum.
    static var perOperation: Benchmark.Configuration {
        .init(
            metrics: metrics, timeUnits: .nanoseconds, warmupIterations: 10, scalingFactor: .kilo,
            maxDuration: .seconds(1), maxIterations: 1_000_000, thresholds: zeroAllocations)
    }

    /// One operation per iteration (a batch of 256 frames).
    static var perBatch: Benchmark.Configuration {
        .init(
            metrics: metrics, timeUnits: .nanoseconds, warmupIterations: 100, scalingFactor: .one,
            maxDuration: .seconds(1), maxIterations: 1_000_000, thresholds: zeroAllocations)
    }

    /// A slow operation that allocates by design (control plane: Maglev table build).
    static var controlPlane: Benchmark.Configuration {
        .init(
            metrics: metrics + [.cpuTotal], timeUnits: .microseconds, warmupIterations: 3, scalingFactor: .one,
            maxDuration: .seconds(2), maxIterations: 1_000)
    }
}

let benchmarks: @Sendable () -> Void = {
    wireBenchmarks()
    balancingBenchmarks()
    flowTableBenchmarks()
    pipelineBenchmarks()
}
