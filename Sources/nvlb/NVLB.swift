import ArgumentParser

/// The `nvlb` command: a layer-4 load balancer for Hyper-V Network Virtualization.
@main
struct NVLB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvlb",
        abstract: "Layer-4 load balancer for Hyper-V Network Virtualization (NVGRE).",
        subcommands: [CheckCommand.self, GenCommand.self, ReplayCommand.self, BenchCommand.self])
}
