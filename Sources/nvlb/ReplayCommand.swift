import ArgumentParser
import Foundation
import NVLBPolicy
import NVLBRuntime

/// `nvlb replay`: the data plane over a capture (README.md "Commands").
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Run the data plane over a capture: every frame of IN is processed as if received; every frame nvlb would send is written to OUT.",
        discussion: """
            IN and OUT are pcap files with Ethernet link type. Per-flow order is kept. The flow
            clock follows the capture's timestamps, so timeouts behave as they would have live.
            --stats writes the statistics JSON described in docs/statistics.md (every drop reason, zeros included).
            """)

    @OptionGroup var configuration: ConfigurationOption

    @Option(help: ArgumentHelp("The capture to process (pcap, Ethernet).", valueName: "IN.pcap"))
    var input: String

    @Option(help: ArgumentHelp("Where to write the frames nvlb sends (pcap, Ethernet).", valueName: "OUT.pcap"))
    var output: String

    @OptionGroup var worker: WorkersOption

    @Option(help: ArgumentHelp("Write the statistics JSON to this file.", valueName: "FILE"))
    var stats: String?

    func run() throws {
        let configuration = try self.configuration.load()
        let snapshot = PolicySnapshot(configuration: configuration)
        var options = Replay.Options(workers: worker.workers ?? resolvedWorkers(configuration))
        if isatty(STDERR_FILENO) == 1 { options.progress = ProgressBar.update }
        let statistics = try failing("replay") {
            try Replay.run(snapshot: snapshot, input: input, output: output, options: options)
        }
        if let stats {
            try failing("writing \(stats)") {
                try statistics.json().write(toFile: stats, atomically: true, encoding: .utf8)
            }
        }
        print(ReplaySummary.render(statistics, configuration: configuration))
    }
}
