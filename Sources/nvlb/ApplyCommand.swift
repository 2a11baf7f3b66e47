import ArgumentParser
import Foundation

/// `nvlb apply FILE`: replaces a running instance's configuration through the management API.
struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Replace the configuration of a running instance with FILE (YAML or JSON).",
        discussion: """
            The instance validates FILE exactly like 'nvlb check'; a refused file is reported as
            FILE:LINE:COLUMN: key.path: message and nothing changes. An accepted one is written to the
            instance's configuration file and published to its workers.
            Exit status: 0 applied, 2 misuse or invalid configuration, 1 any other failure.
            """)

    @Argument(help: ArgumentHelp("The configuration to apply.", valueName: "FILE"))
    var file: String

    @OptionGroup var client: ManagementClientOptions

    func run() async throws {
        guard let body = FileManager.default.contents(atPath: file) else {
            printError("nvlb: cannot read \(file)")
            throw ExitCode(2)
        }
        let (status, data) = try await client.send("PUT", "/v1/config", body: body)
        guard status == 200 else { try client.fail(status, data, source: file) }
        print("applied \(file)")
    }
}
