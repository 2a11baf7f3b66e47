import NVLBControl
import NVLBPolicy
import NVLBWire
import Testing

/// `routing_domains[].probe_source`, `load_balancers[].probes[]` and `rules[].probe`
/// (docs/configuration.md "Keys"): the values read, the defaults, and one test
/// per validation rule with its exact diagnostic.
@Suite("Probe configuration")
struct ProbeConfigurationTests {
    /// `baseYAML` with a probe source (line 10), `rule` as the rule list (line 18) and
    /// `probes` as line 20.
    func probed(
        source: String? = "10.1.6.254", rule: String = "{ protocol: tcp, frontend_port: 80, probe: web }",
        probes: String = "{ name: web, protocol: http, port: 80, path: /healthz }"
    ) -> String {
        base(
            replacing: (
                "    subnets: [5001, 5002]\n",
                "    subnets: [5001, 5002]\n" + (source.map { "    probe_source: \($0)\n" } ?? "")
            ),
            ("rules: [ { protocol: tcp, frontend_port: 80 } ]", "rules: [ \(rule) ]"),
            (
                "backends: [ { vsid: 5001, ca: 10.1.6.20 } ]\n",
                "backends: [ { vsid: 5001, ca: 10.1.6.20 } ]\n    probes: [ \(probes) ]\n"
            ))
    }

    @Test func probesAreReadWithDefaults() throws {
        let config = try configuration(
            probed(probes: "{ name: web, protocol: http, port: 80, path: /healthz }, { name: raw, protocol: tcp }"))
        #expect(config.routingDomains[0].probeSource == IPv4Address(10, 1, 6, 254))
        #expect(config.loadBalancers[0].rules[0].probe == "web")
        #expect(
            config.loadBalancers[0].probes == [
                PolicyConfiguration.Probe(
                    name: "web", kind: .http, port: 80, path: "/healthz", interval: 5, timeout: 2, rise: 2, fall: 3),
                PolicyConfiguration.Probe(name: "raw", kind: .tcp, port: nil, path: "/"),
            ])
    }

    @Test func allKeysAreRead() throws {
        let config = try configuration(
            probed(
                probes: "{ name: web, protocol: http, port: 8080, path: /, interval: 10, timeout: 9, rise: 1, fall: 7 }"
            ))
        #expect(
            config.loadBalancers[0].probes == [
                PolicyConfiguration.Probe(
                    name: "web", kind: .http, port: 8080, path: "/", interval: 10, timeout: 9, rise: 1, fall: 7)
            ])
    }

    @Test func unknownProbeName() {
        #expect(
            problems(probed(rule: "{ protocol: tcp, frontend_port: 80, probe: wbe }")) == [
                "t.yaml:19:57: load_balancers[0].rules[0].probe: no probe named wbe in load balancer web (probes: web)"
            ])
    }

    @Test func probeReferencedWithoutProbes() {
        let yaml = base(
            replacing: (
                "rules: [ { protocol: tcp, frontend_port: 80 } ]",
                "rules: [ { protocol: tcp, frontend_port: 80, probe: web } ]"
            ))
        #expect(
            problems(yaml) == [
                "t.yaml:18:57: load_balancers[0].rules[0].probe: no probe named web in load balancer web (it has no probes)"
            ])
    }

    @Test func probeSourceMissing() {
        #expect(
            problems(probed(source: nil)) == [
                "t.yaml:20:13: load_balancers[0].probes: load balancer web has probes: routing domain blue needs a probe_source"
            ])
    }

    @Test func probeSourceIsALookupRecordCA() {
        #expect(
            problems(probed(source: "10.1.6.20")) == [
                "t.yaml:11:19: routing_domains[0].probe_source: 10.1.6.20 is the CA of a lookup record (VSID 5001, routing_domains[0].lookup_records[0]); probe_source must be an address no VM uses"
            ])
    }

    @Test func probeSourceNotIPv4() {
        #expect(
            problems(probed(source: "fd00::1")) == [
                "t.yaml:11:19: routing_domains[0].probe_source: expected an IPv4 address (dotted quad, e.g. 10.1.6.20), found 'fd00::1'"
            ])
        #expect(
            problems(probed(source: "224.0.0.1")) == [
                "t.yaml:11:19: routing_domains[0].probe_source: 224.0.0.1 is not a unicast address (0/8, 127/8 and 224/3 are excluded)"
            ])
    }

    @Test func timeoutNotBelowInterval() {
        #expect(
            problems(probed(probes: "{ name: web, protocol: tcp, interval: 3, timeout: 3 }")) == [
                "t.yaml:21:65: load_balancers[0].probes[0].timeout: timeout (3 s) must be less than interval (3 s)"
            ])
        // An interval at or below the default timeout (2 s) is reported at the interval.
        #expect(
            problems(probed(probes: "{ name: web, protocol: tcp, interval: 1 }")) == [
                "t.yaml:21:53: load_balancers[0].probes[0].interval: timeout (2 s) must be less than interval (1 s); the default timeout is 2 s"
            ])
    }

    @Test func riseAndFallZero() {
        #expect(
            problems(probed(probes: "{ name: web, protocol: tcp, rise: 0, fall: 0 }")) == [
                "t.yaml:21:49: load_balancers[0].probes[0].rise: must be between 1 and 100, found 0",
                "t.yaml:21:58: load_balancers[0].probes[0].fall: must be between 1 and 100, found 0",
            ])
    }

    @Test func pathWithoutLeadingSlash() {
        #expect(
            problems(probed(probes: "{ name: web, protocol: http, path: healthz }")) == [
                "t.yaml:21:50: load_balancers[0].probes[0].path: must start with '/', found 'healthz'"
            ])
    }

    @Test func pathWithSpace() {
        #expect(
            problems(probed(probes: "{ name: web, protocol: http, path: '/a b' }")) == [
                "t.yaml:21:50: load_balancers[0].probes[0].path: must be printable ASCII without spaces (it is sent as is in the request line)"
            ])
    }

    @Test func pathOnTCPProbe() {
        #expect(
            problems(probed(probes: "{ name: web, protocol: tcp, path: /x }")) == [
                "t.yaml:21:49: load_balancers[0].probes[0].path: path applies only to protocol http"
            ])
    }

    @Test func unknownProtocolAndPortRange() {
        #expect(
            problems(probed(probes: "{ name: web, protocol: icmp, port: 0 }")) == [
                "t.yaml:21:38: load_balancers[0].probes[0].protocol: expected one of tcp, http; found 'icmp'",
                "t.yaml:21:50: load_balancers[0].probes[0].port: must be between 1 and 65535, found 0",
            ])
    }

    @Test func duplicateProbeName() {
        #expect(
            problems(probed(probes: "{ name: web, protocol: tcp }, { name: web, protocol: http }")) == [
                "t.yaml:21:53: load_balancers[0].probes[1].name: duplicate probe name web (also load_balancers[0].probes[0])"
            ])
    }

    @Test func portlessProbeOnTwoBackendPorts() {
        let rules =
            "{ protocol: tcp, frontend_port: 80, probe: web }, { protocol: tcp, frontend_port: 81, backend_port: 8080, probe: web }"
        #expect(
            problems(probed(rule: rules, probes: "{ name: web, protocol: tcp }")) == [
                "t.yaml:19:127: load_balancers[0].rules[1].probe: probe web has no port and load_balancers[0].rules[0] uses it with backend port 80, this rule with 8080; give the probe a port"
            ])
        // With a port the probe serves both rules.
        #expect(problems(probed(rule: rules, probes: "{ name: web, protocol: tcp, port: 80 }")) == [])
    }

    @Test func summaryShowsProbes() throws {
        let config = try configuration(
            probed(
                probes: "{ name: web, protocol: http, port: 80, path: /healthz }, { name: raw, protocol: tcp, rise: 1 }"
            ))
        let summary = ConfigurationSummary.render(config)
        #expect(summary.contains("gateway MAC 02:4c:42:00:b1:00; probe source 10.1.6.254\n"))
        #expect(summary.contains("rules:     tcp 80 -> 80, five_tuple, idle 240 s, probe web\n"))
        #expect(
            summary.contains(
                """
                    probes:    web: http port 80 /healthz, every 5 s, timeout 2 s, rise 2, fall 3
                               raw: tcp port of the rule, every 5 s, timeout 2 s, rise 1, fall 3

                """))
    }
}
