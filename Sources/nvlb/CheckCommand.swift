import ArgumentParser
import Foundation
import NVLBControl

/// `nvlb check --config FILE`: validates a configuration and prints its summary.
///
/// Exit status (README.md "Commands"): 0 valid (summary on stdout); 2 invalid configuration (every
/// diagnostic on stderr, one per line, `FILE:LINE:COLUMN: key.path: message`) or misuse.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Validate a configuration file and print a summary of its tenants, VIPs, rules and DIPs.",
        discussion: """
            Every problem of the file is reported at once on standard error, one per line, as
            FILE:LINE:COLUMN: key.path: message. Exit status: 0 valid, 2 invalid configuration or usage.
            """)

    @OptionGroup var configuration: ConfigurationOption

    func run() throws {
        let policy = try configuration.load()
        print(ConfigurationSummary.render(policy), terminator: "")
    }
}
