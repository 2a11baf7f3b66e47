import NVLBPolicy
import NVLBWire

/// The human-readable summary `nvlb check` prints for a valid configuration: engine
/// settings, routing domains (tenants), and each load balancer's VIPs, rules and DIPs.
public enum ConfigurationSummary {
    /// Renders `configuration` as lines of text ending in a newline; the order is the file's.
    ///
    /// Backends read `VSID/CA weight N`, the keys of the `replay --stats` JSON. To keep the
    /// summary on one screen, at most `limit` routing domains, load balancers, and frontends,
    /// rules and backends per load balancer are listed; the rest are counted
    /// (`… and 990 more load balancers`). The totals on the first line are always complete.
    public static func render(_ configuration: PolicyConfiguration, limit: Int = 8) -> String {
        var lines: [String] = []
        let balancers = configuration.loadBalancers
        let ruleCount = balancers.reduce(0) { $0 + $1.rules.count }
        let backendCount = balancers.reduce(0) { $0 + $1.backends.count }
        lines.append(
            "configuration valid: \(count(configuration.routingDomains.count, "routing domain")), "
                + "\(count(balancers.count, "load balancer")), \(count(ruleCount, "rule")), "
                + "\(count(backendCount, "backend"))")

        let balancer = configuration.balancer
        let workers: String
        switch balancer.workers {
        case .auto: workers = "auto"
        case .count(let count): workers = "\(count)"
        }
        lines.append(
            "balancer: workers \(workers), flow table \(balancer.flowTableCapacity) per worker, "
                + "maglev table \(balancer.maglevTableSize), hash seed \(hex(balancer.hashSeed))")

        let underlay = configuration.underlay
        var underlayLine = "underlay: \(underlay.address) \(underlay.mac)"
        if let interface = underlay.interface { underlayLine += " on \(interface)" }
        if let gateway = underlay.gatewayMAC { underlayLine += ", gateway \(gateway)" }
        underlayLine += ", \(count(underlay.neighbors.count, "neighbor"))"
        underlayLine += ", mtu \(underlay.mtu), ttl \(underlay.ttl), flow_id \(underlay.flowID.rawValue)"
        lines.append(underlayLine)

        if let external = configuration.external {
            lines.append(
                "external: \(external.mac) on \(external.interface ?? "the underlay interface"), "
                    + "gateway \(external.gatewayMAC)")
        } else {
            lines.append("external: none")
        }

        if let bgp = configuration.bgp {
            lines.append(
                "bgp: \(bgp.speaker.rawValue), AS \(bgp.localAS), router id \(bgp.routerID), from \(bgp.localAddress), "
                    + "next hop \(bgp.nextHop), peers "
                    + bgp.peers.map { "\($0.address) AS \($0.asn)" }.joined(separator: ", ")
                    + ", hold time \(bgp.holdTime) s, drain \(bgp.drainSeconds) s")
        }

        lines.append("")
        lines.append("routing domains:")
        for domain in configuration.routingDomains.prefix(limit) {
            let vsids = domain.subnets.map(String.init).joined(separator: ", ")
            lines.append(
                "  \(domain.name): VSIDs \(vsids); \(count(domain.lookupRecords.count, "lookup record")); "
                    + "gateway MAC \(domain.gatewayMAC)" + (domain.probeSource.map { "; probe source \($0)" } ?? ""))
        }
        if let more = more(configuration.routingDomains.count, limit, "routing domain") { lines.append("  " + more) }

        lines.append("")
        lines.append("load balancers:")
        for balancer in balancers.prefix(limit) {
            lines.append("  \(balancer.name) (routing domain \(balancer.routingDomain))")
            let frontends = balancer.frontends.prefix(limit).map { frontend in
                "\(frontend.vip) (\(frontend.vsid.map { "VSID \($0)" } ?? "external"))"
            }
            lines.append(
                "    frontends: "
                    + (frontends + [more(balancer.frontends.count, limit, "frontend")].compactMap { $0 })
                    .joined(separator: ", "))
            for (index, rule) in balancer.rules.prefix(limit).enumerated() {
                lines.append(
                    (index == 0 ? "    rules:     " : "               ")
                        + "\(rule.protocolNumber) \(rule.frontendPort) -> \(rule.backendPort), "
                        + "\(rule.loadDistribution.rawValue), idle \(rule.idleTimeout) s"
                        + (rule.probe.map { ", probe \($0)" } ?? ""))
            }
            if let more = more(balancer.rules.count, limit, "rule") { lines.append("               " + more) }
            let backends = balancer.backends.prefix(limit).map { "\($0.vsid)/\($0.ca) weight \($0.weight)" }
            lines.append(
                "    backends:  "
                    + (backends + [more(balancer.backends.count, limit, "backend")].compactMap { $0 })
                    .joined(separator: ", "))
            for (index, probe) in balancer.probes.prefix(limit).enumerated() {
                lines.append((index == 0 ? "    probes:    " : "               ") + describe(probe))
            }
        }
        if let more = more(balancers.count, limit, "load balancer") { lines.append("  " + more) }
        let warnings = ConfigurationWarnings.ambiguousReplies(configuration)
        if !warnings.isEmpty {
            lines.append("")
            lines += warnings
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// `web: http port 80 /healthz, every 5 s, timeout 2 s, rise 2, fall 3`.
    private static func describe(_ probe: PolicyConfiguration.Probe) -> String {
        "\(probe.name): \(probe.kind.rawValue) port \(probe.port.map(String.init) ?? "of the rule")"
            + (probe.kind == .http ? " \(probe.path)" : "")
            + ", every \(probe.interval) s, timeout \(probe.timeout) s, rise \(probe.rise), fall \(probe.fall)"
    }

    private static func count(_ value: Int, _ noun: String) -> String {
        "\(value) \(noun)\(value == 1 ? "" : "s")"
    }

    /// `… and N more things` when `total` exceeds `limit`.
    private static func more(_ total: Int, _ limit: Int, _ noun: String) -> String? {
        total > limit ? "… and \(total - limit) more \(noun)\(total - limit == 1 ? "" : "s")" : nil
    }

    private static func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
