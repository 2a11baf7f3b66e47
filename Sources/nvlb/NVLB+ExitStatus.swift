import ArgumentParser
import Foundation

extension NVLB {
    /// Runs the command line with the exit statuses of SPEC §8: 0 success, 2 invalid usage or
    /// configuration, 1 any other failure.
    ///
    /// ArgumentParser reports usage errors with `EX_USAGE` (64); the contract says 2, so they are
    /// printed as ArgumentParser would and mapped here. `--help` and `ExitCode(n)` thrown by a
    /// subcommand pass through unchanged.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if exitCode(for: error) == .validationFailure {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
