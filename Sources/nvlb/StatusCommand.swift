import ArgumentParser
import Foundation

/// `nvlb status`: every VIP, rule and DIP of a running instance, from `GET /v1/status`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a running instance: workers, policy generation, every VIP, rule and DIP (health, weight, packets, flows).",
        discussion: "Exit status: 0 success, 2 misuse, 1 any other failure (server unreachable, refused token).")

    @OptionGroup var client: ManagementClientOptions

    @Flag(help: "Print the JSON of GET /v1/status instead of the table.")
    var json = false

    func run() async throws {
        let (status, data) = try await client.send("GET", "/v1/status")
        guard status == 200 else { try client.fail(status, data) }
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            printError("nvlb: the server's status is not JSON")
            throw ExitCode.failure
        }
        print(StatusTable.render(object), terminator: "")
    }
}

/// The text of `nvlb status`.
enum StatusTable {
    static func render(_ status: [String: Any]) -> String {
        var out = ""
        let instance = status["instance"] as? [String: Any] ?? [:]
        let workers = status["workers"] as? [[String: Any]] ?? []
        let packets = status["packets"] as? [String: Any] ?? [:]
        let flows = workers.map { ($0["flows"] as? Int).map(String.init) ?? "-" }.joined(separator: "/")
        out += "instance \(instance["hostname"] as? String ?? "?") pid \(instance["pid"] as? Int ?? 0)"
        out += ", policy generation \(status["generation"] as? Int ?? 0), \(workers.count) workers (flows \(flows))\n"
        out += "packets: received \(packets["received"] as? Int ?? 0), forwarded \(packets["forwarded"] as? Int ?? 0)"
        out += ", answered \(packets["answered"] as? Int ?? 0), dropped \(packets["dropped"] as? Int ?? 0)\n\n"
        var rows: [[String]] = [["LB", "VIP", "RULE", "DIP", "HEALTH", "WEIGHT", "PACKETS", "FLOWS"]]
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
                    backend.map { "\($0["packets"] as? Int ?? 0)" } ?? "",
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
            out += cells.joined(separator: "  ").trimmingCharacters(in: .whitespaces) + "\n"
        }
        return out
    }
}
