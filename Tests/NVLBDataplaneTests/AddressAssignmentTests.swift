import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// nvlb's own addresses change on publication (docs/management.md "What changes without a
/// restart"), and gratuitous ARP announces them (docs/packets.md "ARP and next hops").
@Suite("PA assignment and gratuitous ARP")
struct AddressAssignmentTests {
    static let newPA = TestPolicies.ip("192.168.6.9")
    static let newMAC = TestPolicies.mac("02:4c:42:00:06:09")

    static func moved() -> PolicyConfiguration {
        var configuration = TestPolicies.goldenExample()
        configuration.underlay.address = newPA
        configuration.underlay.mac = newMAC
        return configuration
    }

    @Test("the announcement frame, field by field")
    func goldenFrame() {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64)
        defer { buffer.deallocate() }
        buffer.initializeMemory(as: UInt8.self, repeating: 0xAA, count: 64)
        let length = GratuitousARP.write(
            .init(port: .underlay, address: Self.newPA, mac: Self.newMAC), into: buffer)
        let expected = hexBytes(
            """
            ff ff ff ff ff ff        // Ethernet destination: broadcast
            02 4c 42 00 06 09        // Ethernet source: the MAC announced
            08 06                    // EtherType ARP
            00 01                    // hardware type Ethernet
            08 00                    // protocol type IPv4
            06 04                    // hardware and protocol address lengths
            00 01                    // operation: request (RFC 5227 announcement)
            02 4c 42 00 06 09        // sender MAC
            c0 a8 06 09              // sender IP: the address announced
            00 00 00 00 00 00        // target MAC: zero
            c0 a8 06 09              // target IP: the address announced again
            00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  // padding to 60 bytes
            """)
        #expect(length == 60)
        #expect(GratuitousARP.frameLength == 60)
        #expect(Array(UnsafeRawBufferPointer(start: buffer, count: length)) == expected)
    }

    @Test("announced: the PA on the underlay and every external VIP; with bgp: only next_hop")
    func announcedAddresses() {
        let plain = GratuitousARP.announcements(for: PolicySnapshot(configuration: TestPolicies.example()))
        #expect(
            plain == [
                .init(port: .underlay, address: Actors.lbPA, mac: Actors.lbMAC),
                .init(port: .external, address: Actors.blueVIP, mac: Actors.externalMAC),
                .init(port: .external, address: Actors.redVIP, mac: Actors.externalMAC),
            ])
        var withBGP = TestPolicies.example()
        withBGP.bgp = .init(
            localAS: 65001, routerID: TestPolicies.ip("10.0.0.1"), localAddress: TestPolicies.ip("10.0.0.1"),
            nextHop: TestPolicies.ip("192.168.6.250"), peers: [])
        #expect(
            GratuitousARP.announcements(for: PolicySnapshot(configuration: withBGP)) == [
                .init(port: .underlay, address: TestPolicies.ip("192.168.6.250"), mac: Actors.lbMAC)
            ])
    }

    @Test("three rounds a second apart at start, none for a republication, three again after a PA change")
    func announcerSchedule() {
        var announcer = AddressAnnouncer()
        // Each step: (adopted a new set, or the round sent) as the worker sees them.
        func adopt(_ configuration: PolicyConfiguration, _ now: UInt64) -> Bool {
            announcer.adopt(PolicySnapshot(configuration: configuration), now: now)
        }
        func due(_ now: UInt64) -> [GratuitousARP.Announcement]? { announcer.due(now: now) }

        let started = adopt(TestPolicies.goldenExample(), 10_000)
        #expect(started)
        let first = due(10_000)
        #expect(first?.first?.address == Actors.lbPA)
        let early = due(10_500)
        #expect(early == nil)
        let second = due(11_000)
        #expect(second != nil)
        // A new generation with the same addresses (a weight change, a probe result).
        let republished = adopt(TestPolicies.goldenExample(), 11_500)
        #expect(!republished)
        let third = due(12_000)
        #expect(third != nil)
        let fourth = due(13_000)
        #expect(fourth == nil, "three rounds only")
        let perRound = UInt64(announcer.current.count)
        #expect(perRound == 3)
        #expect(announcer.sent == 3 * perRound)

        let changed = adopt(Self.moved(), 20_000)
        #expect(changed)
        let round = due(20_000)
        #expect(round?.first == .init(port: .underlay, address: Self.newPA, mac: Self.newMAC))
        #expect(round?.contains { $0.address == Actors.lbPA } == false)
        let rest = [due(21_000), due(22_000), due(23_000)]
        #expect(rest.map { $0 != nil } == [true, true, false])
        #expect(announcer.sent == 6 * perRound)
    }

    @Test("after publication an existing flow leaves from the new PA and MAC; ARP answers the new PA only")
    func publishedPAChange() throws {
        let harness = Harness(TestPolicies.goldenExample())
        let syn = harness.run(Actors.external(sport: 41000, flags: .syn))
        #expect(syn.verdict == .forward(.underlay))
        let before = try ParsedFrame.parse(syn.output)
        #expect(before.source == Actors.lbMAC)
        #expect(before.ipv4?.source == Actors.lbPA)

        harness.snapshot = PolicySnapshot(configuration: Self.moved())
        // The flow's next packet: same DIP (the flow survived), new outer source.
        let ack = harness.run(Actors.external(sport: 41000, flags: .ack, payload: [1]))
        #expect(ack.verdict == .forward(.underlay))
        let after = try ParsedFrame.parse(ack.output)
        #expect(after.source == Self.newMAC)
        #expect(after.ipv4?.source == Self.newPA)
        #expect(after.ipv4?.destination == before.ipv4?.destination)
        #expect(after.inner?.ipv4?.destination == before.inner?.ipv4?.destination)
        #expect(after.checksumsValid)
        #expect(harness.counters.flowsCreated == 1)

        // A DIP's host sends to the new PA: taken; to the old one: not for us.
        let asker = TestPolicies.mac("02:00:00:00:06:03")
        let askNew = harness.run(
            FrameBuilder.arpRequest(senderMAC: asker, senderIP: TestPolicies.ip("192.168.6.3"), targetIP: Self.newPA))
        #expect(askNew.verdict == .answer(.underlay))
        let answer = try #require(try ParsedFrame.parse(askNew.output).arp)
        #expect(answer.senderIP == Self.newPA)
        #expect(answer.senderMAC == Self.newMAC)
        let askOld = harness.run(
            FrameBuilder.arpRequest(senderMAC: asker, senderIP: TestPolicies.ip("192.168.6.3"), targetIP: Actors.lbPA))
        #expect(askOld.verdict == .drop(.notForUs))
    }

    @Test("the flow census counts live flows in total and per DIP, as the table holds them")
    func census() throws {
        let harness = Harness(TestPolicies.example(), flowCapacity: 1024)
        var perDIP: [UInt64: UInt64] = [:]
        for port in 0..<100 {
            let result = harness.run(Actors.external(sport: UInt16(30_000 + port), flags: .syn), now: 1000)
            #expect(result.verdict == .forward(.underlay))
            let inner = try #require(try ParsedFrame.parse(result.output).inner?.ipv4?.destination)
            perDIP[5001 << 32 | UInt64(inner.rawValue), default: 0] += 1
        }
        #expect(perDIP.count == 2, "both DIPs of blue-web took flows")
        var census = FlowCensus()
        #expect(census.total == nil)
        census.sweepAll(harness.worker.flows, now: 1000)
        #expect(census.total == 100)
        #expect(census.total == UInt64(harness.worker.flows.liveCount(now: 1000)))
        #expect(census.dips() == perDIP)
        #expect(census.unattributed == 0)
        // Half-open flows expire; the next sweep finds none.
        census.sweepAll(harness.worker.flows, now: 100_000)
        #expect(census.total == 0)
        #expect(census.dips().isEmpty)
    }

    @Test("the census covers the table once per period, a slice at a time")
    func censusPacing() {
        let harness = Harness(TestPolicies.example(), flowCapacity: 1024)
        for port in 0..<10 { _ = harness.run(Actors.external(sport: UInt16(31_000 + port), flags: .syn)) }
        var census = FlowCensus(period: 1_000)
        let first = census.advance(harness.worker.flows, now: 1000, clock: 5_000)
        let half = census.advance(harness.worker.flows, now: 1000, clock: 5_500)
        #expect(!first && !half)
        #expect(census.total == nil, "half the table swept")
        let whole = census.advance(harness.worker.flows, now: 1000, clock: 6_000)
        #expect(whole)
        #expect(census.total == 10)
        #expect(census.sweeps == 1)
    }
}
