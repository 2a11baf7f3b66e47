import NVLBPolicy
import NVLBWire

/// The rules of health probes (docs/health.md, docs/configuration.md "Keys").
extension ConfigurationValidator {
    static let probeInterval = 1...3600
    static let probeTimeout = 1...3599
    static let probeThreshold = 1...100

    /// `routing_domains[i].probe_source`: a unicast CA that no lookup record of the domain
    /// uses (a VM with that address would receive the probe replies meant for nvlb).
    func validateProbeSource(_ domain: RawRoutingDomain, records: [IPv4Address: DomainIndex.Record]) {
        guard let source = domain.probeSource else { return }
        checkUnicast(source)
        if let record = records[source.value] {
            report(
                "\(source.value) is the CA of a lookup record (VSID \(record.vsid), \(record.path));"
                    + " probe_source must be an address no VM uses", source)
        }
        if source.value == raw.underlay?.address?.value {
            report("\(source.value) is nvlb's own provider address (underlay.address); probe_source is a CA", source)
        }
    }

    /// `load_balancers[i].probes` and `rules[j].probe`.
    func validateProbes(_ balancer: RawLoadBalancer, domain: Int?, domains: DomainIndex) {
        let probes = balancer.probes?.value ?? []
        var byName: [String: RawProbe] = [:]
        for probe in probes {
            if let name = probe.name, checkName(name) {
                if let first = byName[name.value] {
                    report("duplicate probe name \(name.value) (also \(first.path))", name)
                } else {
                    byName[name.value] = probe
                }
            }
            checkRange(probe.port, Self.port)
            checkRange(probe.interval, Self.probeInterval)
            checkRange(probe.timeout, Self.probeTimeout)
            checkRange(probe.rise, Self.probeThreshold)
            checkRange(probe.fall, Self.probeThreshold)
            let interval = probe.interval?.value ?? Int(PolicyConfiguration.Probe(name: "", kind: .tcp).interval)
            let timeout = probe.timeout?.value ?? Int(PolicyConfiguration.Probe(name: "", kind: .tcp).timeout)
            if Self.probeInterval.contains(interval), Self.probeTimeout.contains(timeout), timeout >= interval {
                let message = "timeout (\(timeout) s) must be less than interval (\(interval) s)"
                if let located = probe.timeout {
                    report(message, located)
                } else if let located = probe.interval {
                    report(message + "; the default timeout is \(timeout) s", located)
                }
            }
            if let path = probe.requestPath {
                if !path.value.hasPrefix("/") {
                    report("must start with '/', found '\(path.value)'", path)
                } else if path.value.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F }) {
                    report("must be printable ASCII without spaces (it is sent as is in the request line)", path)
                }
                if probe.kind?.value == .tcp {
                    report("path applies only to protocol http", path)
                }
            }
        }

        // Rules: the probe exists; a probe without a port needs one backend port.
        var portUsers: [String: (port: Int, path: String)] = [:]
        for rule in balancer.rules?.value ?? [] {
            guard let name = rule.probe else { continue }
            guard let probe = byName[name.value] else {
                let known = byName.keys.sorted()
                report(
                    "no probe named \(name.value) in load balancer \(balancer.name?.value ?? balancer.path)"
                        + (known.isEmpty ? " (it has no probes)" : " (probes: \(known.joined(separator: ", ")))"),
                    name)
                continue
            }
            guard probe.port == nil, let port = rule.backendPort?.value ?? rule.frontendPort?.value else { continue }
            if let first = portUsers[name.value], first.port != port {
                report(
                    "probe \(name.value) has no port and \(first.path) uses it with backend port \(first.port),"
                        + " this rule with \(port); give the probe a port", name)
            } else if portUsers[name.value] == nil {
                portUsers[name.value] = (port, rule.path)
            }
        }

        // The routing domain needs a probe source.
        guard !probes.isEmpty, let domain, let list = balancer.probes else { return }
        if let domainRaw = raw.routingDomains?.value[domain], !domainRaw.hasProbeSource {
            report(
                "load balancer \(balancer.name?.value ?? balancer.path) has probes: routing domain"
                    + " \(domains.names[domain] ?? "") needs a probe_source", list)
        }
    }
}
