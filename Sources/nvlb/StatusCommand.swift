import ArgumentParser
import Foundation

/// `nvlb status`: every VIP, rule and DIP of a running instance, from `GET /v1/status`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "Show a running instance: workers, policy generation, every VIP, rule and DIP (health, weight, packets, flows).",
        discussion: "Exit status: 0 success, 2 misuse, 1 any other failure (server unreachable, refused token).")

    @OptionGroup var client: ManagementClientOptions

    @Flag(help: "Print the JSON of GET /v1/status instead of the table.")
    var json = false

    @Option(
        help: ArgumentHelp(
            "Take two samples S seconds apart and show packets per second instead of packet totals.",
            valueName: "S"))
    var interval: Double = 0

    func validate() throws {
        if interval < 0 || interval > 3600 { throw ValidationError("--interval must be between 0 and 3600 seconds") }
    }

    func run() async throws {
        var previous: [String: Any]?
        if interval > 0, !json {
            previous = try await sample()
            try await Task.sleep(for: .milliseconds(Int(interval * 1000)))
        }
        if json {
            let (status, data) = try await client.send("GET", "/v1/status")
            guard status == 200 else { try client.fail(status, data) }
            print(String(decoding: data, as: UTF8.self))
            return
        }
        print(StatusTable.render(try await sample(), previous: previous, seconds: interval), terminator: "")
    }

    private func sample() async throws -> [String: Any] {
        let (status, data) = try await client.send("GET", "/v1/status")
        guard status == 200 else { try client.fail(status, data) }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            printError("nvlb: the server's status is not JSON")
            throw ExitCode.failure
        }
        return object
    }
}

/// The text of `nvlb status`.
enum StatusTable {
    /// The table; with `previous` (a sample `seconds` earlier), packet columns are per second.
    static func render(_ status: [String: Any], previous: [String: Any]? = nil, seconds: Double = 0) -> String {
        let rate = previous != nil && seconds > 0
        func packetCell(_ lb: String, _ backend: String, _ now: Int) -> String {
            guard rate, let previous else { return String(now) }
            let before = (previous["load_balancers"] as? [[String: Any]] ?? []).first { $0["name"] as? String == lb }
                .flatMap { ($0["backends"] as? [[String: Any]] ?? []).first { $0["backend"] as? String == backend } }
            let delta = now - (before?["packets"] as? Int ?? now)
            return String(format: "%.1f", Double(max(delta, 0)) / seconds)
        }
        var out = ""
        let instance = status["instance"] as? [String: Any] ?? [:]
        let workers = status["workers"] as? [[String: Any]] ?? []
        let packets = status["packets"] as? [String: Any] ?? [:]
        let flows = workers.map { ($0["flows"] as? Int).map(String.init) ?? "-" }.joined(separator: "/")
        out += "instance \(instance["hostname"] as? String ?? "?") pid \(instance["pid"] as? Int ?? 0)"
        out += ", policy generation \(status["generation"] as? Int ?? 0), \(workers.count) workers (flows \(flows))\n"
        out += "packets: received \(packets["received"] as? Int ?? 0), forwarded \(packets["forwarded"] as? Int ?? 0)"
        out += ", answered \(packets["answered"] as? Int ?? 0), dropped \(packets["dropped"] as? Int ?? 0)\n\n"
        var rows: [[String]] = [["LB", "VIP", "RULE", "DIP", "HEALTH", "WEIGHT", rate ? "PKT/S" : "PACKETS", "FLOWS"]]
        for lb in status["load_balancers"] as? [[String: Any]] ?? [] {
            let name = lb["name"] as? String ?? ""
            let vips = (lb["frontends"] as? [[String: Any]] ?? []).map { frontend in
                let vip = frontend["vip"] as? String ?? ""
                return (frontend["vsid"] as? Int).map { "\($0)/\(vip)" } ?? vip
            }
            let rules = (lb["rules"] as? [[String: Any]] ?? []).map {
                "\($0["protocol"] as? String ?? "")/\($0["frontend_port"] as? Int ?? 0)→\($0["backend_port"] as? Int ?? 0)"
            }
            let backends = lb["backends"] as? [[String: Any]] ?? []
            let count = max(vips.count, rules.count, backends.count, 1)
            for i in 0..<count {
                let backend = i < backends.count ? backends[i] : nil
                rows.append([
                    i == 0 ? name : "", i < vips.count ? vips[i] : "", i < rules.count ? rules[i] : "",
                    backend?["backend"] as? String ?? "", backend?["health"] as? String ?? "",
                    backend.map { "\($0["weight"] as? Int ?? 0)" } ?? "",
                    backend.map { packetCell(name, $0["backend"] as? String ?? "", $0["packets"] as? Int ?? 0) } ?? "",
                    backend.map { ($0["flows"] as? Int).map(String.init) ?? "-" } ?? "",
                ])
            }
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        for row in rows {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            var line = cells.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
