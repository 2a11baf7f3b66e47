import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// With `bgp:` (docs/operations.md "Several instances behind ECMP"): ARP for this
/// instance's `next_hop` only, and VIP traffic accepted on the MAC that answered it.
@Suite struct ScaleOutDataplaneTests {
    static func withBGP() -> PolicyConfiguration {
        var configuration = TestPolicies.goldenExample()
        configuration.bgp = .init(
            localAS: 65010, routerID: TestPolicies.ip("192.168.7.11"), localAddress: TestPolicies.ip("192.168.7.11"),
            nextHop: TestPolicies.ip("192.168.6.11"),
            peers: [.init(address: TestPolicies.ip("192.168.7.1"), asn: 65000)])
        return configuration
    }

    /// The router 192.168.6.1 (02:00:00:00:06:01) asks who has 192.168.6.11.
    static let nextHopRequest = hexBytes(
        """
        ff ff ff ff ff ff  02 00 00 00 06 01  08 06   // broadcast ← router
        00 01 08 00 06 04 00 01                       // Ethernet/IPv4, request
        02 00 00 00 06 01  c0 a8 06 01                // sender: router, 192.168.6.1
        00 00 00 00 00 00  c0 a8 06 0b                // target: 192.168.6.11 (next_hop)
        """)
    static let nextHopReply = hexBytes(
        """
        02 00 00 00 06 01  02 4c 42 00 06 02  08 06   // router ← underlay.mac
        00 01 08 00 06 04 00 02                       // reply
        02 4c 42 00 06 02  c0 a8 06 0b                // sender: underlay.mac is 192.168.6.11
        02 00 00 00 06 01  c0 a8 06 01                // target: the router
        """)

    @Test func nextHopIsAnsweredWithTheUnderlayMAC() {
        let harness = Harness(Self.withBGP())
        let result = harness.run(Self.nextHopRequest)
        #expect(result.verdict == .answer(.underlay))
        #expect(result.output == Self.nextHopReply)
    }

    @Test func aRefreshSentToTheExternalMACIsAnsweredWithIt() {
        var request = Self.nextHopRequest
        request.replaceSubrange(0..<6, with: [0x02, 0x4c, 0x42, 0x00, 0x00, 0x01])
        let result = Harness(Self.withBGP()).run(request)
        #expect(result.verdict == .answer(.external))
        #expect(Array(result.output[6..<12]) == [0x02, 0x4c, 0x42, 0x00, 0x00, 0x01])  // Ethernet source
        #expect(Array(result.output[22..<28]) == [0x02, 0x4c, 0x42, 0x00, 0x00, 0x01])  // ARP sender MAC
        #expect(Array(result.output[28..<32]) == [192, 168, 6, 11])
    }

    @Test(arguments: [TestPolicies.ip("192.168.6.2"), TestPolicies.ip("131.107.10.10")])
    func sharedAddressesAreNotAnswered(_ target: IPv4Address) {
        // The underlay address and the VIPs are every instance's: the routers reach them.
        let request = FrameBuilder.arpRequest(
            senderMAC: TestPolicies.mac("02:00:00:00:06:01"), senderIP: TestPolicies.ip("192.168.6.1"), targetIP: target
        )
        #expect(Harness(Self.withBGP()).run(request).verdict == .drop(.notForUs))
        // Without bgp: both answered.
        #expect(Harness(TestPolicies.goldenExample()).run(request).verdict != .drop(.notForUs))
    }

    @Test func nextHopIsNotAnsweredWithoutBGP() {
        #expect(Harness(TestPolicies.goldenExample()).run(Self.nextHopRequest).verdict == .drop(.notForUs))
    }

    @Test func vipTrafficSentToTheUnderlayMACIsServed() {
        // The router resolved next_hop to underlay.mac and sends the Internet's request there.
        var request = GoldenFrames.externalRequestIn
        request.replaceSubrange(0..<6, with: [0x02, 0x4c, 0x42, 0x00, 0x06, 0x02])
        let served = Harness(Self.withBGP()).run(request)
        #expect(served.verdict == .forward(.underlay))
        #expect(served.output == GoldenFrames.externalRequestOut)
        #expect(Harness(TestPolicies.goldenExample()).run(request).verdict == .drop(.notForUs))
    }
}
