import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// Live-mode next hops (docs/packets.md "ARP and next hops"): a PA without a static neighbour and without
/// `underlay.gateway_mac` is resolved by ARP — `neighbor_unresolved` and a queued
/// request until the reply is learned, then forwarded to the learned MAC.
@Suite struct LiveNeighborTests {
    static let learnedMAC = TestPolicies.mac("02:00:00:00:06:44")

    static func arpReply(from pa: IPv4Address, mac: MACAddress) -> [UInt8] {
        FrameBuilder.arpReply(
            senderMAC: mac, senderIP: pa, targetMAC: Actors.lbMAC, targetIP: Actors.lbPA)
    }

    @Test func unresolvedIsCountedThenResolvedByARP() throws {
        var configuration = TestPolicies.goldenExample()
        configuration.underlay.neighbors = []
        configuration.underlay.gatewayMAC = nil
        let harness = Harness(configuration)
        harness.worker.resolvesNeighbors = true
        harness.worker.clockMilliseconds = 10_000

        // No MAC for host 1 yet: dropped, and a request for its PA is queued.
        #expect(harness.run(Actors.external(sport: 1000)).verdict == .drop(.neighborUnresolved))
        var asked: [IPv4Address] = []
        harness.worker.drainARPRequests { asked.append($0) }
        #expect(asked == [TestPolicies.ip("192.168.6.4")])
        // Rate-limited: no second request within the retry interval.
        #expect(harness.run(Actors.external(sport: 1001)).verdict == .drop(.neighborUnresolved))
        harness.worker.drainARPRequests { asked.append($0) }
        #expect(asked.count == 1)
        #expect(harness.counters[.neighborUnresolved] == 2)

        // The host answers; the worker learns it and forwards to that MAC.
        let reply = Self.arpReply(from: TestPolicies.ip("192.168.6.4"), mac: Self.learnedMAC)
        let learned = reply.withUnsafeBytes {
            harness.worker.neighbors.learn(
                arpFrame: $0.baseAddress!, length: $0.count, ownAddress: Actors.lbPA, now: 10_100)
        }
        #expect(learned?.mac == Self.learnedMAC)
        harness.worker.clockMilliseconds = 10_200
        let forwarded = harness.run(Actors.external(sport: 1002))
        #expect(forwarded.verdict == .forward(.underlay))
        #expect(try ParsedFrame.parse(forwarded.output).destination == Self.learnedMAC)
    }

    @Test func staticNeighboursWinOverARPAndTheGatewayNeedsNoRequest() throws {
        let harness = Harness(TestPolicies.goldenExample())
        harness.worker.resolvesNeighbors = true
        harness.worker.clockMilliseconds = 5_000
        // Host 1 has a static neighbour entry: used as is.
        let toHost1 = harness.run(Actors.external(sport: 2000))
        #expect(try ParsedFrame.parse(toHost1.output).destination == Actors.host1MAC)
        // The internal client's host (192.168.6.7) has none: the gateway MAC, no ARP request.
        let request = GoldenFrames.internalRequestIn
        _ = harness.run(request)
        let reply = harness.run(GoldenFrames.internalReplyIn)
        #expect(try ParsedFrame.parse(reply.output).destination == TestPolicies.mac("02:00:00:00:06:01"))
        var asked: [IPv4Address] = []
        harness.worker.drainARPRequests { asked.append($0) }
        #expect(asked.isEmpty)
    }
}
