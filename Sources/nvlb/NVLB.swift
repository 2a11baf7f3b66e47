import ArgumentParser
import Foundation

/// The `nvlb` command: a layer-4 load balancer for Hyper-V Network Virtualization.
@main
struct NVLB: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nvlb",
        abstract: "Layer-4 load balancer for Hyper-V Network Virtualization (NVGRE).",
        subcommands: [
            CheckCommand.self, GenCommand.self, ReplayCommand.self, BenchCommand.self, RunCommand.self,
            StatusCommand.self, WeightCommand.self, ApplyCommand.self,
        ])

    /// Runs the command line with the exit statuses of README.md "Commands": 0 success, 2 invalid usage or
    /// configuration, 1 any other failure.
    ///
    /// ArgumentParser reports usage errors with `EX_USAGE` (64); the contract says 2, so they are
    /// printed as ArgumentParser would and mapped here. `--help` and `ExitCode(n)` thrown by a
    /// subcommand pass through unchanged.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
