import ArgumentParser
import Foundation
import NVLBIO
import NVLBRuntime
import NVLBTraffic

/// `nvlb gen`: realistic traffic for a configuration (README.md "Commands").
struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Write realistic traffic for a configuration to a pcap file.",
        discussion: """
            Clients of every frontend (external clients from 198.18.0.0/15, internal clients taken
            from lookup records and NVGRE-encapsulated as their Hyper-V host sends them): TCP
            handshakes, HTTP/TLS-like data and FIN, UDP exchanges. With --replies also the DIPs'
            answers as their hosts would send them (the DIP is the one nvlb chooses). The same
            configuration, options and seed always give the same bytes.
            """)

    @OptionGroup var configuration: ConfigurationOption

    @Option(help: ArgumentHelp("Where to write the capture (pcap, Ethernet).", valueName: "OUT.pcap"))
    var output: String

    @Option(help: ArgumentHelp("Number of flows.", valueName: "N"))
    var flows: Int = 100

    @Option(
        help: ArgumentHelp("Exact number of frames to write (default: each flow's natural length).", valueName: "N"))
    var packets: Int?

    @Option(help: ArgumentHelp("Seed of the generator.", valueName: "S"))
    var seed: UInt64 = 1

    @Flag(help: "Also write the DIPs' replies.")
    var replies = false

    @Option(
        help: ArgumentHelp(
            "Pick frontends by a Zipf distribution with this exponent (default: uniform).", valueName: "S"))
    var zipf: Double?

    func validate() throws {
        if flows < 1 { throw ValidationError("--flows must be at least 1") }
        if let packets, packets < flows { throw ValidationError("--packets must be at least --flows") }
        if let zipf, !(zipf > 0 && zipf <= 10) { throw ValidationError("--zipf must be between 0 and 10") }
    }

    func run() throws {
        let configuration = try self.configuration.load()
        let options = TrafficGenerator.Options(
            flows: flows, packets: packets, seed: seed, replies: replies, zipfExponent: zipf)
        let generator: TrafficGenerator
        do {
            generator = try TrafficGenerator(configuration: configuration, options: options)
        } catch {
            printError("nvlb gen: \(error)")
            throw ExitCode(2)
        }
        for warning in generator.warnings { printError("nvlb gen: warning: \(warning)") }
        let progress: ((Int, Int) -> Void)? = isatty(STDERR_FILENO) == 1 ? { ProgressBar.update($0, $1) } : nil
        let summary: TrafficGenerator.Summary
        do {
            var writer = try PcapFileWriter(path: output)
            summary = try generator.generate(into: &writer, progress: progress)
            try writer.close()
        } catch {
            printError("nvlb gen: \(error)")
            throw ExitCode.failure
        }
        print(
            "wrote \(summary.frames) frames (\(summary.requestFrames) from clients, \(summary.replyFrames) from DIPs) "
                + "of \(summary.flows) flows (\(summary.externalFlows) external, \(summary.internalFlows) internal) to \(output)"
        )
    }
}
