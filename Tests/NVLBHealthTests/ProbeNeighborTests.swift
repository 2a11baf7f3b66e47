import NVLBHealth
import NVLBTestSupport
import NVLBWire
import Testing

/// Next hops without a static neighbour: learned from ARP, asked for at a bounded rate.
@Suite struct ProbeNeighborTests {
    static let hv3 = TestPolicies.ip("192.168.6.5")
    static let hv3MAC = TestPolicies.mac("02:00:00:00:06:05")

    @Test func learnsFromARPAndRequestsAtMostOncePerSecond() {
        var table = ProbeNeighborTable()
        var (mac, request) = table.lookup(Self.hv3, now: 10)
        #expect(mac == nil && request)
        (mac, request) = table.lookup(Self.hv3, now: 10 + 999_999_999)
        #expect(mac == nil && !request, "asked less than a second ago")
        (mac, request) = table.lookup(Self.hv3, now: 10 + 1_000_000_000)
        #expect(mac == nil && request)

        let reply = FrameBuilder.arpReply(
            senderMAC: Self.hv3MAC, senderIP: Self.hv3, targetMAC: Actors.lbMAC, targetIP: Actors.lbPA)
        reply.withUnsafeBytes { table.learn($0, now: 2_000_000_000) }
        (mac, request) = table.lookup(Self.hv3, now: 2_000_000_001)
        #expect(mac == Self.hv3MAC && !request)
        // Old: asked again, the old MAC still used meanwhile.
        (mac, request) = table.lookup(Self.hv3, now: 2_000_000_000 + ProbeNeighborTable.refresh)
        #expect(mac == Self.hv3MAC && request)
    }

    @Test func ignoresWhatIsNotARP() {
        var table = ProbeNeighborTable()
        let frame = FrameBuilder.udp(
            srcMAC: Self.hv3MAC, dstMAC: Actors.lbMAC, src: Self.hv3, dst: Actors.lbPA, sport: 1, dport: 2)
        frame.withUnsafeBytes { table.learn($0, now: 1) }
        [UInt8](repeating: 0, count: 10).withUnsafeBytes { table.learn($0, now: 1) }
        #expect(table.lookup(Self.hv3, now: 2).mac == nil)
    }

    @Test func proberAsksTheIOForHostsWithoutStaticNextHop() throws {
        let clock = FakeClock()
        var io = ScriptedIO()
        io.neighbors[Fixture.hostPA] = TestPolicies.mac("02:00:00:00:06:99")
        let prober = Prober(
            targets: [Fixture.target(nextHop: nil)], clock: clock, io: io, seed: 1, logger: CapturedLog().logger())
        clock.nanoseconds = prober.nextEvent
        prober.step()
        #expect(prober.io.asked == [Fixture.hostPA])
        let syn = try #require(prober.io.sent.first)
        #expect(ParsedFrame(syn)?.destination == TestPolicies.mac("02:00:00:00:06:99"))
        // A static next hop is used without asking.
        let second = Prober(
            targets: [Fixture.target()], clock: clock, io: ScriptedIO(), seed: 1, logger: CapturedLog().logger())
        clock.nanoseconds = second.nextEvent
        second.step()
        #expect(second.io.asked.isEmpty && second.io.sent.count == 1)
    }
}
