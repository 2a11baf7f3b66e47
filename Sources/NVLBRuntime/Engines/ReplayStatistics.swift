import Foundation
import NVLBDataplane
import NVLBPolicy

/// The statistics document of `nvlb replay --stats` (docs/statistics.md): counters summed
/// over workers, every drop reason present (zeros included), and packets
/// forwarded per DIP by load balancer name and `VSID/CA`.
public struct ReplayStatistics: Codable, Sendable, Equatable {
    public var packetsIn: UInt64
    public var packetsOut: UInt64
    /// Frames sent besides the first fragment of fragmented packets (part of `packetsOut`).
    public var fragmentsOut: UInt64
    /// TCP SYN and SYN-ACK segments whose MSS option was lowered (docs/packets.md "ICMP and path MTU").
    public var mssClamped: UInt64
    /// ICMP echo requests answered (part of `answered`).
    public var echoReplies: UInt64
    /// ICMP "fragmentation needed" messages sent (part of `answered`).
    public var fragmentationNeeded: UInt64
    /// ICMP errors forwarded along their flow (part of `packetsOut`).
    public var icmpErrorsForwarded: UInt64
    public var answered: UInt64
    /// Frames dropped. `drops.flow_table_full` counts packets forwarded without
    /// state and is not part of this sum.
    public var dropped: UInt64
    public var drops: [String: UInt64]
    public var flowsCreated: UInt64
    public var handoffs: UInt64
    public var workers: Int
    /// Wall-clock seconds of the run (reading, processing and writing).
    public var seconds: Double
    /// Received packets per second, in millions.
    public var mpps: Double
    public var backends: [String: [String: UInt64]]

    enum CodingKeys: String, CodingKey {
        case packetsIn = "packets_in", packetsOut = "packets_out", fragmentsOut = "fragments_out", answered, dropped,
            drops
        case flowsCreated = "flows_created", handoffs, workers, seconds, mpps, backends
        case mssClamped = "mss_clamped", echoReplies = "echo_replies", fragmentationNeeded = "fragmentation_needed"
        case icmpErrorsForwarded = "icmp_errors_forwarded"
    }

    /// Builds the document from merged counters; every DIP of `snapshot` is listed.
    public init(counters: CounterSnapshot, snapshot: PolicySnapshot, workers: Int, seconds: Double) {
        packetsIn = counters.packetsIn
        packetsOut = counters.packetsOut
        fragmentsOut = counters.fragmentsOut
        mssClamped = counters.mssClamped
        echoReplies = counters.echoReplies
        fragmentationNeeded = counters.fragmentationNeeded
        icmpErrorsForwarded = counters.icmpErrorsForwarded
        answered = counters.answered
        dropped = counters.dropped
        drops = Dictionary(uniqueKeysWithValues: DropReason.allCases.map { ($0.name, counters[$0]) })
        flowsCreated = counters.flowsCreated
        handoffs = counters.handoffs
        self.workers = workers
        self.seconds = seconds
        mpps = seconds > 0 ? Double(counters.packetsIn) / seconds / 1e6 : 0
        var backends = counters.backends
        for index in 0..<snapshot.backends.count {
            let lb = snapshot.loadBalancerNames[Int(snapshot.backends[index].loadBalancer)]
            backends[lb, default: [:]][snapshot.backendNames[index], default: 0] += 0
        }
        self.backends = backends
    }

    /// Pretty-printed JSON with sorted keys (stable output for diffs and tests).
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain integers, doubles and strings cannot fail.
        let data = (try? encoder.encode(self)) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
