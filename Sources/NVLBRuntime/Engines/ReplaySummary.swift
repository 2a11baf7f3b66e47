import Foundation
import NVLBPolicy

/// A short human-readable account of a replay: totals, per load balancer the DIPs
/// and their share of forwarded requests, and drops by reason.
public enum ReplaySummary {
    /// With `configuration`, load balancers whose rules all hash by source address say so:
    /// each client address then sticks to one DIP, so few clients cannot spread.
    public static func render(_ s: ReplayStatistics, configuration: PolicyConfiguration? = nil) -> String {
        var lines: [String] = []
        lines.append(
            "packets: \(s.packetsIn) in, \(s.packetsOut) out, \(s.answered) answered, \(s.dropped) dropped; "
                + "\(s.flowsCreated) flows; \(s.workers) worker\(s.workers == 1 ? "" : "s"), "
                + "\(format(s.seconds, 3)) s, \(format(s.mpps, 3)) Mpps")
        for lb in s.backends.keys.sorted() {
            let dips = s.backends[lb] ?? [:]
            let total = dips.values.reduce(0, +)
            let affinity =
                configuration?.loadBalancers.first { $0.name == lb }.map { balancer in
                    !balancer.rules.isEmpty && balancer.rules.allSatisfy { $0.loadDistribution != .fiveTuple }
                } ?? false
            lines.append(
                "  \(lb): \(total) packets to DIPs"
                    + (affinity ? " (source-address affinity: each client address stays on one DIP)" : ""))
            for dip in dips.keys.sorted() {
                let count = dips[dip] ?? 0
                let share = total > 0 ? Double(count) * 100 / Double(total) : 0
                lines.append(
                    "    \(dip.padding(18)) \(String(count).leftPadding(9))  \(format(share, 1).leftPadding(5)) %")
            }
        }
        let drops = s.drops.filter { $0.value > 0 }.sorted { $0.key < $1.key }
        lines.append(
            drops.isEmpty
                ? "  drops: none" : "  drops: " + drops.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        return lines.joined(separator: "\n")
    }

    static func format(_ value: Double, _ decimals: Int) -> String { String(format: "%.\(decimals)f", value) }
}

extension String {
    func padding(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
    func leftPadding(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
