import NVLBDataplane
import NVLBIO
import Testing

@testable import NVLBRuntime

/// The counter line of `nvlb run` (docs/statistics.md "Live counters"): every field under its
/// documented name with the value of its own counter.
@Suite struct CounterLineTests {
    /// The `key=value` fields of a line (the title and the `drops:` marker left out).
    static func fields(_ line: String) -> [String: String] {
        var result: [String: String] = [:]
        for word in line.split(separator: " ") {
            let parts = word.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { result[String(parts[0])] = String(parts[1]) }
        }
        return result
    }

    @Test func everyCounterUnderItsName() {
        // Distinct values, so that a field showing another counter's value fails.
        var c = CounterSnapshot(
            packetsIn: 101, packetsOut: 102, answered: 103, dropped: 104, flowsCreated: 105, handoffs: 106,
            drops: [.tooBig: 3, .noVIP: 101, .malformed: 0], backends: [:], fragmentsOut: 107, mssClamped: 108,
            echoReplies: 109, fragmentationNeeded: 110, icmpErrorsForwarded: 111)
        c.vips = [:]
        var io = LiveEngine.WorkerIOCounters()
        io.transmitted = 201
        io.transmitFailures = 202
        io.handoffOverflows = 203
        io.handoffDrops = 204
        io.kernelDrops = 205
        io.checksumsCompleted = 206
        io.superframes = 207
        io.superframeDrops = 208
        io.checksumDrops = 209
        let line = CounterLine.render("counters", dataplane: c, io: io)
        #expect(line.hasPrefix("counters: in=101 "))
        let expected: [String: String] = [
            "in": "101", "out": "102", "answered": "103", "dropped": "104", "flows": "105", "live_flows": "-",
            "handoffs": "106", "fragments_out": "107", "mss_clamped": "108", "echo_replies": "109",
            "fragmentation_needed": "110", "icmp_errors_forwarded": "111", "sent": "201", "send_failures": "202",
            "handoff_overflows": "203", "handoff_drops": "204", "kernel_drops": "205", "checksums_completed": "206",
            "superframes": "207", "superframe_drops": "208", "checksum_drops": "209",
            // The non-zero drop reasons after `drops:`, by name.
            "no_vip": "101", "too_big": "3",
        ]
        #expect(Self.fields(line) == expected, "\(line)")
        #expect(line.hasSuffix(" drops: no_vip=101 too_big=3"), "\(line)")

        // Live flows once counted; af_xdp's counters when its program runs; no `drops:` without drops.
        io.flows = 42
        var xdp = AFXDPProgram.Counters()
        xdp.steered = 301
        xdp.toWorkerZero = 302
        xdp.ownerWithoutSocket = 303
        xdp.dropped = 304
        c.drops = [:]
        let final = CounterLine.render("final counters", dataplane: c, io: io, xdp: xdp)
        let fields = Self.fields(final)
        #expect(final.hasPrefix("final counters: in=101 "))
        #expect(fields["live_flows"] == "42")
        #expect(fields["xdp_steered"] == "301" && fields["xdp_worker0"] == "302")
        #expect(fields["xdp_no_socket"] == "303" && fields["xdp_dropped"] == "304")
        #expect(!final.contains("drops:"), "\(final)")
    }
}
