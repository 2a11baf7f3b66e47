import NVLBControl
import NVLBPolicy
import NVLBTestSupport
import Testing

/// `nvlb check` warns about DIP ports whose replies cannot be rebuilt without flow state.
@Suite struct ConfigurationWarningsTests {
    @Test func differentKindsOnOnePortAreFine() {
        // VM2 behind the public VIP (port 80) and the CA VIP (8080 → 80): one rule per kind.
        var configuration = TestPolicies.goldenExample()
        configuration.loadBalancers[1].rules[0].backendPort = 80
        #expect(ConfigurationWarnings.ambiguousReplies(configuration).isEmpty)
        #expect(!ConfigurationSummary.render(configuration).contains("warning"))
    }

    @Test func sameKindOnOnePortIsWarnedWithTheReason() {
        var configuration = TestPolicies.goldenExample()
        configuration.loadBalancers[0].frontends.append(.init(vsid: nil, vip: TestPolicies.ip("131.107.10.11")))
        let warnings = ConfigurationWarnings.ambiguousReplies(configuration)
        // blue-web's DIP 5001/10.1.6.21 on tcp 80 and on udp 5353, each behind both public VIPs.
        #expect(
            warnings == [
                "warning: DIP 5001/10.1.6.21 tcp port 80 backs 2 external frontends (blue-web 131.107.10.10:80, "
                    + "blue-web 131.107.10.11:80): a reply of these flows without flow state (after a restart, or on "
                    + "another instance behind ECMP) cannot tell which VIP it belongs to and is dropped no_flow; "
                    + "give each VIP its own backend port",
                "warning: DIP 5001/10.1.6.21 udp port 5353 backs 2 external frontends (blue-web 131.107.10.10:53, "
                    + "blue-web 131.107.10.11:53): a reply of these flows without flow state (after a restart, or on "
                    + "another instance behind ECMP) cannot tell which VIP it belongs to and is dropped no_flow; "
                    + "give each VIP its own backend port",
            ])
        let summary = ConfigurationSummary.render(configuration)
        #expect(summary.hasSuffix(warnings.joined(separator: "\n") + "\n"))
    }

    @Test func twoInternalRulesOfOneDIPPortAreWarned() {
        var configuration = TestPolicies.goldenExample()
        configuration.loadBalancers[1].rules.append(.init(protocolNumber: .tcp, frontendPort: 9090, backendPort: 8080))
        let warnings = ConfigurationWarnings.ambiguousReplies(configuration)
        #expect(warnings.count == 1)
        #expect(warnings.first?.contains("DIP 5001/10.1.6.21 tcp port 8080 backs 2 internal frontends") == true)
    }
}
