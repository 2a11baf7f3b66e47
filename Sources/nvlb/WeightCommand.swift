import ArgumentParser
import Foundation

/// `nvlb weight LB VSID/CA N`: sets a DIP's weight (0 drains it) through the management API.
struct WeightCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weight",
        abstract: "Set the weight of a DIP of a load balancer (0 drains it; open connections stay).",
        discussion: """
            The change is validated, written to the configuration file and published like any other.
            Exit status: 0 success, 2 misuse or refused value, 1 any other failure (unknown LB or DIP, server unreachable).
            """)

    @Argument(help: "Load balancer name.")
    var loadBalancer: String

    @Argument(help: ArgumentHelp("The DIP as VSID/CA, e.g. 5001/10.1.6.20.", valueName: "VSID/CA"))
    var backend: String

    @Argument(help: "New weight, 0–1000.")
    var weight: Int

    @OptionGroup var client: ManagementClientOptions

    func validate() throws {
        let parts = backend.split(separator: "/")
        guard parts.count == 2, UInt32(parts[0]) != nil, !parts[1].isEmpty else {
            throw ValidationError("the DIP must be written VSID/CA, e.g. 5001/10.1.6.20; found '\(backend)'")
        }
        guard (0...1000).contains(weight) else { throw ValidationError("the weight must be between 0 and 1000") }
    }

    func run() async throws {
        let parts = backend.split(separator: "/")
        let name =
            loadBalancer.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/"]))
            ?? loadBalancer
        let (status, data) = try await client.send(
            "PATCH", "/v1/load-balancers/\(name)/backends/\(parts[0])/\(parts[1])",
            body: Data("{\"weight\": \(weight)}".utf8))
        guard status == 200 else { try client.fail(status, data) }
        print("\(loadBalancer) \(backend): weight \(weight)")
    }
}
