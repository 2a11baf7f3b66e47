import ArgumentParser
import Foundation
import NVLBPolicy
import NVLBRuntime

/// `nvlb bench`: in-memory data plane throughput (docs/statistics.md "nvlb bench --json").
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract:
            "Measure in-memory data plane throughput: prebuilt packets per worker, half requests and half replies.",
        discussion: """
            Each worker is pinned and loops over its own frames (the flows it owns) for --seconds,
            copying each batch into receive buffers and processing it; a copy-only pass over the
            same frames in the same run is the baseline. Flow tables are sized to stay at most
            half full (the configured capacity, doubled as needed). Use a release build.
            """)

    @OptionGroup var configuration: ConfigurationOption

    @Option(help: ArgumentHelp("Concurrent flows.", valueName: "N"))
    var flows: Int = 1_000_000

    @OptionGroup var worker: WorkersOption

    @Option(help: ArgumentHelp("Seconds of the timed data plane pass.", valueName: "S"))
    var seconds: Double = 5

    @Flag(help: "Print one JSON object (docs/statistics.md) instead of text.")
    var json = false

    func validate() throws {
        if flows < 1 || flows > 100_000_000 { throw ValidationError("--flows must be between 1 and 100000000") }
        if !(seconds > 0 && seconds <= 3600) { throw ValidationError("--seconds must be between 0 and 3600") }
    }

    func run() throws {
        let configuration = try self.configuration.load()
        let snapshot = PolicySnapshot(configuration: configuration)
        let quiet = json
        let options = Bench.Options(
            workers: worker.workers ?? resolvedWorkers(configuration), flows: flows, seconds: seconds)
        let result = try failing("bench") {
            try Bench.run(snapshot: snapshot, options: options) { line in if !quiet { print(line) } }
        }
        if json {
            print(result.json())
            return
        }
        print(
            String(
                format: "data plane: %.2f Mpps total over %d worker(s), %.1f ns/packet per worker, %d flows, %.1f s",
                result.mpps, result.workers, result.nsPerPacket, result.flows, result.seconds))
        for (index, mpps) in result.mppsPerWorker.enumerated() {
            print(String(format: "  worker %d: %.2f Mpps", index, mpps))
        }
        print(
            String(
                format: "copy-only: %.2f Mpps (data plane / copy = %.3f); drops: %llu", result.copyMpps,
                result.ratioToCopy, result.drops))
    }
}
