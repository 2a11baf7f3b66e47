import NVLBDataplane
import NVLBIO

/// The counter line `nvlb run` logs every `--stats-interval` seconds and at exit
/// (docs/statistics.md "Live counters"): the data plane counters summed over workers, the
/// I/O figures, the af_xdp program's counters when it runs, and the non-zero drop reasons.
public enum CounterLine {
    /// `TITLE: in=… out=… … drops: reason=n …` (one line, `key=value` fields).
    public static func render(
        _ title: String, dataplane c: CounterSnapshot, io: LiveEngine.WorkerIOCounters,
        xdp: AFXDPProgram.Counters? = nil
    ) -> String {
        var fields: [(String, String)] = [
            ("in", "\(c.packetsIn)"), ("out", "\(c.packetsOut)"), ("answered", "\(c.answered)"),
            ("dropped", "\(c.dropped)"), ("flows", "\(c.flowsCreated)"),
            ("live_flows", io.flows.map { String($0) } ?? "-"), ("handoffs", "\(c.handoffs)"),
            // docs/packets.md "ICMP and path MTU".
            ("fragments_out", "\(c.fragmentsOut)"), ("mss_clamped", "\(c.mssClamped)"),
            ("echo_replies", "\(c.echoReplies)"), ("fragmentation_needed", "\(c.fragmentationNeeded)"),
            ("icmp_errors_forwarded", "\(c.icmpErrorsForwarded)"),
            ("sent", "\(io.transmitted)"), ("send_failures", "\(io.transmitFailures)"),
            ("handoff_overflows", "\(io.handoffOverflows)"), ("handoff_drops", "\(io.handoffDrops)"),
            ("kernel_drops", "\(io.kernelDrops)"), ("checksums_completed", "\(io.checksumsCompleted)"),
            ("superframes", "\(io.superframes)"), ("superframe_drops", "\(io.superframeDrops)"),
            ("checksum_drops", "\(io.checksumDrops)"),
        ]
        if let xdp {
            fields += [
                ("xdp_steered", "\(xdp.steered)"), ("xdp_worker0", "\(xdp.toWorkerZero)"),
                ("xdp_no_socket", "\(xdp.ownerWithoutSocket)"), ("xdp_dropped", "\(xdp.dropped)"),
            ]
        }
        var line = title + ":" + fields.map { " \($0.0)=\($0.1)" }.joined()
        let drops = c.drops.filter { $0.value > 0 }.sorted { $0.key.name < $1.key.name }
        if !drops.isEmpty {
            line += " drops:" + drops.map { " \($0.key.name)=\($0.value)" }.joined()
        }
        return line
    }
}
