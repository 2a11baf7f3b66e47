import NVLBControl
import NVLBPolicy

/// Renders `/metrics` from the runtime's figures at scrape time (docs/metrics.md lists every
/// family). Nothing is accumulated between scrapes except the publication histogram.
enum MetricsExporter {
    static func render(
        figures: RuntimeFigures, state: ConfigurationStore.State,
        publishSeconds: (bounds: [Double], values: Histogram.Snapshot)
    ) -> String {
        var out = PrometheusText()
        let configuration = state.configuration

        out.family("nvlb_packets_total", "counter", "Frames by outcome: forwarded, answered by nvlb, dropped.")
        out.sample("nvlb_packets_total", ["outcome": "forwarded"], figures.packetsOut)
        out.sample("nvlb_packets_total", ["outcome": "answered"], figures.answered)
        out.sample("nvlb_packets_total", ["outcome": "dropped"], figures.dropped)

        out.family("nvlb_drops_total", "counter", "Frames dropped, by reason (docs/packets.md drop reasons).")
        for drop in figures.drops { out.sample("nvlb_drops_total", ["reason": drop.name], drop.count) }

        out.family("nvlb_vip_packets_total", "counter", "Packets per VIP and direction (in: to the VIP, out: replies).")
        for vip in figures.vipTraffic {
            out.sample(
                "nvlb_vip_packets_total", ["lb": vip.loadBalancer, "vip": vip.vip, "direction": vip.direction],
                vip.packets)
        }
        out.family("nvlb_vip_bytes_total", "counter", "Bytes per VIP and direction.")
        for vip in figures.vipTraffic {
            out.sample(
                "nvlb_vip_bytes_total", ["lb": vip.loadBalancer, "vip": vip.vip, "direction": vip.direction], vip.bytes)
        }

        out.family("nvlb_backend_packets_total", "counter", "Packets forwarded to each DIP (backend = VSID/CA).")
        for (lb, backend, _) in backends(configuration) {
            out.sample(
                "nvlb_backend_packets_total", ["lb": lb, "backend": backend], figures.backendPackets[lb]?[backend] ?? 0)
        }
        out.family("nvlb_backend_up", "gauge", "1 when the DIP is up (health probes), else 0.")
        for (lb, backend, _) in backends(configuration) {
            let up = figures.backendUp[lb]?[backend] ?? true
            out.sample("nvlb_backend_up", ["lb": lb, "backend": backend], up ? 1.0 : 0.0)
        }
        out.family("nvlb_backend_weight", "gauge", "Configured weight of the DIP (0 drains).")
        for (lb, backend, weight) in backends(configuration) {
            out.sample("nvlb_backend_weight", ["lb": lb, "backend": backend], Double(weight))
        }

        out.family("nvlb_flows", "gauge", "Live flows in each worker's flow table.")
        for (index, worker) in figures.workers.enumerated() {
            if let flows = worker.flows { out.sample("nvlb_flows", ["worker": String(index)], flows) }
        }
        out.family("nvlb_backend_flows", "gauge", "Live flows to the DIP, over every worker (backend = VSID/CA).")
        if let dipFlows = figures.dipFlows {
            for (lb, backend, _) in backends(configuration) {
                out.sample("nvlb_backend_flows", ["lb": lb, "backend": backend], dipFlows[backend] ?? 0)
            }
        }
        out.family("nvlb_flow_table_capacity", "gauge", "Entries each worker's flow table can hold.")
        for (index, worker) in figures.workers.enumerated() {
            out.sample("nvlb_flow_table_capacity", ["worker": String(index)], worker.capacity)
        }
        out.family("nvlb_gratuitous_arp_total", "counter", "Gratuitous ARP frames sent for nvlb's own addresses.")
        out.sample("nvlb_gratuitous_arp_total", [:], figures.gratuitousARPs)
        out.family("nvlb_handoffs_total", "counter", "Frames handed from the receiving worker to the flow's owner.")
        out.sample("nvlb_handoffs_total", [:], figures.handoffs)
        // docs/packets.md "ICMP and path MTU".
        let pathMTU: [(String, String, UInt64)] = [
            ("nvlb_fragments_out_total", "Extra frames sent for packets nvlb fragmented.", figures.fragmentsOut),
            (
                "nvlb_mss_clamped_total", "TCP SYN and SYN-ACK segments whose MSS option was lowered.",
                figures.mssClamped
            ),
            ("nvlb_echo_replies_total", "ICMP echo requests answered.", figures.echoReplies),
            (
                "nvlb_fragmentation_needed_total", "ICMP fragmentation needed messages sent to clients.",
                figures.fragmentationNeeded
            ),
            (
                "nvlb_icmp_errors_forwarded_total", "ICMP errors forwarded along their flow.",
                figures.icmpErrorsForwarded
            ),
        ]
        for (name, help, value) in pathMTU {
            out.family(name, "counter", help)
            out.sample(name, [:], value)
        }
        out.family("nvlb_policy_generation", "gauge", "Policies published since start (1 = the initial one).")
        out.sample("nvlb_policy_generation", [:], state.generation)

        out.family(
            "nvlb_policy_publish_seconds", "histogram",
            "Time from an accepted change to every worker on the new policy (build, swap, quiescence).")
        var cumulative: UInt64 = 0
        for (index, count) in publishSeconds.values.buckets.enumerated() {
            cumulative += count
            let bound =
                index < publishSeconds.bounds.count ? PrometheusText.format(publishSeconds.bounds[index]) : "+Inf"
            out.sample("nvlb_policy_publish_seconds_bucket", ["le": bound], cumulative)
        }
        out.sample("nvlb_policy_publish_seconds_sum", [:], publishSeconds.values.sum)
        out.sample("nvlb_policy_publish_seconds_count", [:], publishSeconds.values.count)

        // Filled by the health probes and BGP when they run; the families are always present.
        out.family("nvlb_probe_duration_seconds", "histogram", "Duration of health probes per DIP.")
        let probed = figures.probes.sorted { $0.key < $1.key }.flatMap { lb, dips in
            dips.sorted { $0.key < $1.key }.map { (lb: lb, backend: $0.key, probe: $0.value) }
        }
        for (lb, backend, probe) in probed {
            var cumulative: UInt64 = 0
            for (index, count) in probe.durationBuckets.enumerated() {
                cumulative += count
                let bound =
                    index < probe.durationBounds.count ? PrometheusText.format(probe.durationBounds[index]) : "+Inf"
                out.sample(
                    "nvlb_probe_duration_seconds_bucket", [("lb", lb), ("backend", backend), ("le", bound)],
                    Double(cumulative))
            }
            out.sample("nvlb_probe_duration_seconds_sum", ["lb": lb, "backend": backend], probe.durationSum)
            out.sample("nvlb_probe_duration_seconds_count", ["lb": lb, "backend": backend], cumulative)
        }
        out.family("nvlb_probes_total", "counter", "Health probes sent to the DIP.")
        for (lb, backend, probe) in probed {
            out.sample("nvlb_probes_total", ["lb": lb, "backend": backend], probe.sent)
        }
        out.family("nvlb_probe_failures_total", "counter", "Health probes of the DIP that failed.")
        for (lb, backend, probe) in probed {
            out.sample("nvlb_probe_failures_total", ["lb": lb, "backend": backend], probe.failed)
        }
        out.family("nvlb_bgp_peer_up", "gauge", "1 while the BGP session with the peer is established.")
        for (peer, up) in figures.bgpPeers.sorted(by: { $0.key < $1.key }) {
            out.sample("nvlb_bgp_peer_up", ["peer": peer], up ? 1.0 : 0.0)
        }
        out.family("nvlb_vip_announced", "gauge", "1 while the VIP is announced over BGP.")
        for (vip, announced) in figures.vipAnnounced.sorted(by: { $0.key < $1.key }) {
            out.sample("nvlb_vip_announced", ["vip": vip], announced ? 1.0 : 0.0)
        }
        return out.text
    }

    /// Every DIP of the configuration: (load balancer, `VSID/CA`, weight).
    static func backends(_ configuration: PolicyConfiguration) -> [(String, String, UInt32)] {
        configuration.loadBalancers.flatMap { lb in
            lb.backends.map { (lb.name, "\($0.vsid)/\($0.ca)", $0.weight) }
        }
    }
}
