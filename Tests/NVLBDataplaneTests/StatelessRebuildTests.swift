import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// Replies without flow state (docs/packets.md "Replies and flow state"): the client's kind
/// is decided first, then exactly one rule of that kind must reach the DIP port. Behind ECMP
/// this is the common path: replies reach instances that never saw the request.
@Suite struct StatelessRebuildTests {
    /// The golden example where VM2 (5001/10.1.6.21) serves the public VIP 131.107.10.10:80
    /// (blue-web) and the CA VIP 10.1.5.100:8080 (blue-app) on the same backend port 80.
    static func mixed() -> PolicyConfiguration {
        var configuration = TestPolicies.goldenExample()
        configuration.loadBalancers[1].rules[0].backendPort = 80
        return configuration
    }

    /// VM2's SYN-ACK from port 80 to the internal client 10.1.5.20:50000 (blue-app's rule
    /// 8080 → 80). Checksums computed independently.
    static let internalReplyFromPort80In = hexBytes(
        """
        02 4c 42 00 06 02  02 00 00 00 06 04  08 00   // outer Ethernet: MACLB ← MACH1
        45 00 00 52 00 00 40 00 40 2f ad 26           // outer IPv4: len 82, DF, TTL 64, GRE
        c0 a8 06 04  c0 a8 06 02                      // 192.168.6.4 → 192.168.6.2
        20 00 65 58  00 13 89 11                      // NVGRE: VSID 5001
        02 4c 42 00 b1 00  00 15 5d 01 06 21  08 00   // inner: blue gateway ← MACVM2
        45 00 00 28 00 00 40 00 40 06 1b a6
        0a 01 06 15  0a 01 05 14                      // 10.1.6.21 → 10.1.5.20
        00 50 c3 50 00 00 23 28 00 00 00 4e           // 80 → 50000, seq 9000, ack 78
        50 12 ff ff a9 91 00 00                       // SYN+ACK, checksum
        """)

    @Test func oneVMBehindAPublicAndAnInternalVIPOnOnePort() {
        // Before the client's kind was decided first, both replies were no_flow.
        let harness = Harness(Self.mixed())
        let external = harness.run(GoldenFrames.externalReplyIn)
        #expect(external.verdict == .forward(.external))
        #expect(external.output == GoldenFrames.externalReplyOut)
        let toInternal = harness.run(Self.internalReplyFromPort80In)
        #expect(toInternal.verdict == .forward(.underlay))
        // Out: VIP 10.1.5.100:8080 → client, re-encapsulated in the client's VSID 5002.
        #expect(toInternal.output == GoldenFrames.internalReplyOut)
        #expect(harness.counters.flowsCreated == 2)
        // The rebuilt flows carry the clients' next packets to the same DIP.
        #expect(harness.run(GoldenFrames.externalRequestIn).output == GoldenFrames.externalRequestOut)
        #expect(harness.run(GoldenFrames.internalRequestIn).verdict == .forward(.underlay))
        #expect(harness.counters.flowsCreated == 2)
    }

    @Test func externalRebuild() {
        let harness = Harness(TestPolicies.goldenExample())
        let reply = harness.run(GoldenFrames.externalReplyIn)
        #expect(reply.verdict == .forward(.external))
        #expect(reply.output == GoldenFrames.externalReplyOut)
        #expect(harness.counters.flowsCreated == 1)
    }

    @Test func internalRebuild() {
        let harness = Harness(TestPolicies.goldenExample())
        let reply = harness.run(GoldenFrames.internalReplyIn)
        #expect(reply.verdict == .forward(.underlay))
        #expect(reply.output == GoldenFrames.internalReplyOut)
        #expect(harness.counters.flowsCreated == 1)
    }

    @Test func twoExternalFrontendsOnOneDIPPortStayAmbiguous() {
        var configuration = Self.mixed()
        configuration.loadBalancers[0].frontends.append(.init(vsid: nil, vip: TestPolicies.ip("131.107.10.11")))
        let harness = Harness(configuration)
        #expect(harness.run(GoldenFrames.externalReplyIn).verdict == .drop(.noFlow))
        // The internal kind still has one rule: its reply is rebuilt.
        #expect(harness.run(Self.internalReplyFromPort80In).output == GoldenFrames.internalReplyOut)
        // With state, the ambiguous pair is no problem: the request creates it.
        #expect(harness.run(GoldenFrames.externalRequestIn).verdict == .forward(.underlay))
        #expect(harness.run(GoldenFrames.externalReplyIn).output == GoldenFrames.externalReplyOut)
    }

    @Test func twoInternalFrontendsOnOneDIPPortStayAmbiguous() {
        var configuration = Self.mixed()
        configuration.loadBalancers[1].frontends.append(.init(vsid: 5002, vip: TestPolicies.ip("10.1.5.101")))
        let harness = Harness(configuration)
        #expect(harness.run(Self.internalReplyFromPort80In).verdict == .drop(.noFlow))
        #expect(harness.run(GoldenFrames.externalReplyIn).output == GoldenFrames.externalReplyOut)
    }

    @Test func aClientKindWithoutARuleIsNoFlowAndAPortWithoutRulesIsNoVIP() {
        // goldenExample: port 8080 backs only blue-app (internal). An external client's
        // reply from it cannot be rebuilt; a port no rule uses is not a reply at all.
        let harness = Harness(TestPolicies.goldenExample())
        var fromInternalPort = GoldenFrames.externalReplyIn
        Self.setSourcePort(&fromInternalPort, 8080)
        #expect(harness.run(fromInternalPort).verdict == .drop(.noFlow))
        var fromUnusedPort = GoldenFrames.externalReplyIn
        Self.setSourcePort(&fromUnusedPort, 22)
        #expect(harness.run(fromUnusedPort).verdict == .drop(.noVIP))
    }

    /// Rewrites the inner TCP source port of an NVGRE frame (checksum left as is: the
    /// data plane does not verify transport checksums of replies).
    static func setSourcePort(_ frame: inout [UInt8], _ port: UInt16) {
        let offset = 14 + 20 + 8 + 14 + 20
        frame[offset] = UInt8(port >> 8)
        frame[offset + 1] = UInt8(port & 0xFF)
    }
}
