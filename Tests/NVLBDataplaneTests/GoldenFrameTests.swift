import NVLBDataplane
import NVLBTestSupport
import NVLBWire
import Testing

/// docs/packets.md "Packet paths" byte for byte, with the frames of `GoldenFrames`.
@Suite struct GoldenFrameTests {
    @Test func externalRequestAndReply() {
        let harness = Harness(TestPolicies.goldenExample())
        let request = harness.run(GoldenFrames.externalRequestIn)
        #expect(request.verdict == .forward(.underlay))
        #expect(request.output == GoldenFrames.externalRequestOut)
        let reply = harness.run(GoldenFrames.externalReplyIn)
        #expect(reply.verdict == .forward(.external))
        #expect(reply.output == GoldenFrames.externalReplyOut)
        #expect(harness.counters.flowsCreated == 1)
        #expect(harness.counters.backends["blue-web"]?["5001/10.1.6.21"] == 1)
    }

    @Test func internalRequestAndReply() {
        let harness = Harness(TestPolicies.goldenExample())
        let request = harness.run(GoldenFrames.internalRequestIn)
        #expect(request.verdict == .forward(.underlay))
        #expect(request.output == GoldenFrames.internalRequestOut)
        let reply = harness.run(GoldenFrames.internalReplyIn)
        #expect(reply.verdict == .forward(.underlay))
        #expect(reply.output == GoldenFrames.internalReplyOut)
        #expect(harness.counters.flowsCreated == 1)
    }

    @Test func repliesWithoutStateAreRebuiltFromPolicy() {
        // nvlb restarted: the reply arrives first; policy names exactly one rule.
        let harness = Harness(TestPolicies.goldenExample())
        #expect(harness.run(GoldenFrames.externalReplyIn).output == GoldenFrames.externalReplyOut)
        #expect(harness.run(GoldenFrames.internalReplyIn).output == GoldenFrames.internalReplyOut)
        #expect(harness.counters.flowsCreated == 2)
        // The rebuilt flow then carries the client's next packet to the same DIP.
        #expect(harness.run(GoldenFrames.externalRequestIn).output == GoldenFrames.externalRequestOut)
        #expect(harness.counters.flowsCreated == 2)
    }
}
