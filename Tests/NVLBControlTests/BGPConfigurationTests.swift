import NVLBControl
import NVLBPolicy
import NVLBTestSupport
import Testing

/// `bgp:` (docs/configuration.md "bgp"): values, defaults and positioned diagnostics.
@Suite struct BGPConfigurationTests {
    /// `baseYAML` with a `bgp:` section appended: `bgp:` is on line 20, its keys from line 21.
    static func bgp(_ lines: String) -> String { base(appending: "bgp:\n" + lines) }

    static let valid = """
          speaker: exabgp
          local_as: 65010
          router_id: 192.168.7.11
          local_address: 192.168.7.11
          next_hop: 192.168.6.11
          peers: [ { address: 192.168.7.1, as: 65000 } ]

        """

    @Test func valuesAndDefaults() throws {
        let bgp = try #require(try configuration(Self.bgp(Self.valid)).bgp)
        #expect(bgp.speaker == .exabgp)
        #expect(bgp.localAS == 65010)
        #expect(bgp.routerID == TestPolicies.ip("192.168.7.11"))
        #expect(bgp.localAddress == TestPolicies.ip("192.168.7.11"))
        #expect(bgp.nextHop == TestPolicies.ip("192.168.6.11"))
        #expect(bgp.peers == [.init(address: TestPolicies.ip("192.168.7.1"), asn: 65000)])
        #expect(bgp.holdTime == 9)
        #expect(bgp.drainSeconds == 5)
        let explicit = try #require(
            try configuration(Self.bgp(Self.valid + "  hold_time: 30\n  drain_seconds: 0\n")).bgp)
        #expect(explicit.holdTime == 30)
        #expect(explicit.drainSeconds == 0)
        #expect(try configuration(baseYAML).bgp == nil)
    }

    @Test func summaryShowsTheSection() throws {
        let summary = ConfigurationSummary.render(try configuration(Self.bgp(Self.valid)))
        #expect(
            summary.contains(
                "\nbgp: exabgp, AS 65010, router id 192.168.7.11, from 192.168.7.11, next hop 192.168.6.11, "
                    + "peers 192.168.7.1 AS 65000, hold time 9 s, drain 5 s\n"))
        #expect(!ConfigurationSummary.render(try configuration(baseYAML)).contains("bgp:"))
    }

    @Test func missingKeys() {
        #expect(
            problems(Self.bgp("  speaker: exabgp\n")) == [
                "t.yaml:21:3: bgp.local_as: missing required key",
                "t.yaml:21:3: bgp.router_id: missing required key",
                "t.yaml:21:3: bgp.local_address: missing required key",
                "t.yaml:21:3: bgp.next_hop: missing required key",
                "t.yaml:21:3: bgp.peers: missing required key",
            ])
    }

    @Test func badValues() {
        let yaml = Self.bgp(
            """
              speaker: bird
              local_as: 0
              router_id: 127.0.0.1
              local_address: 192.168.7.11
              next_hop: 192.168.6.2
              peers: [ { address: 192.168.7.1, as: 65000 }, { address: 192.168.7.1, as: 4294967295 } ]
              hold_time: 2
              drain_seconds: -1

            """)
        #expect(
            problems(yaml) == [
                "t.yaml:21:12: bgp.speaker: expected one of exabgp; found 'bird'",
                "t.yaml:22:13: bgp.local_as: must be between 1 and 4294967294, found 0",
                "t.yaml:23:14: bgp.router_id: 127.0.0.1 is not a unicast address (0/8, 127/8 and 224/3 are excluded)",
                "t.yaml:25:13: bgp.next_hop: 192.168.6.2 is the shared underlay.address; next_hop must be this "
                    + "instance's own address (every instance announces the underlay address with its own next hop)",
                "t.yaml:26:60: bgp.peers[1].address: duplicate peer 192.168.7.1 (also bgp.peers[0])",
                "t.yaml:26:77: bgp.peers[1].as: must be between 1 and 4294967294, found 4294967295",
                "t.yaml:27:14: bgp.hold_time: must be 0 (no keepalives) or between 3 and 65535 seconds (RFC 4271), "
                    + "found 2",
                "t.yaml:28:18: bgp.drain_seconds: must be between 0 and 3600, found -1",
            ])
    }

    @Test func unknownKeyAndEmptyPeers() {
        let yaml = Self.bgp(
            Self.valid.replacingOccurrences(of: "[ { address: 192.168.7.1, as: 65000 } ]", with: "[]") + "  port: 179\n"
        )
        #expect(
            problems(yaml) == [
                "t.yaml:26:10: bgp.peers: must list at least one router",
                "t.yaml:27:3: bgp.port: unknown key 'port'",
            ])
    }
}
