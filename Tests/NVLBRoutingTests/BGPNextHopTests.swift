import NVLBRouting
import NVLBWire
import Testing

/// `bgp.next_hop` changed on a running nvlb (docs/management.md "What changes without a restart").
@Suite struct BGPNextHopTests {
    static let vip = IPv4Address("131.107.10.10")!
    static let pa = IPv4Address("192.168.6.2")!
    static let oldHop = IPv4Address("192.168.6.11")!
    static let newHop = IPv4Address("192.168.6.12")!

    static func commands(_ actions: [BGPSupervisor.Action]) -> [String] {
        actions.compactMap { if case .command(let line) = $0 { line } else { nil } }
    }

    @Test func everyAnnouncedRouteIsAnnouncedAgainWithTheNewNextHopWithoutAWithdrawal() {
        var s = BGPSupervisor(nextHop: Self.oldHop, peers: [], drainSeconds: 5)
        _ = s.handle(.wanted([Self.vip, Self.pa]), now: 0)
        _ = s.handle(.speakerStarted, now: 0)
        let actions = s.handle(.nextHop(Self.newHop), now: 1)
        #expect(
            Self.commands(actions) == [
                "announce route 131.107.10.10/32 next-hop 192.168.6.12",
                "announce route 192.168.6.2/32 next-hop 192.168.6.12",
            ])
        #expect(actions.contains(.log("bgp: next hop 192.168.6.11 → 192.168.6.12; announcing 2 prefixes again")))
        #expect(s.nextHop == Self.newHop)
        #expect(s.announced == [Self.vip, Self.pa])
        // The same next hop again: nothing.
        #expect(s.handle(.nextHop(Self.newHop), now: 2) == [])
        // Later changes use it.
        #expect(
            Self.commands(s.handle(.wanted([Self.pa]), now: 3)) == [
                "withdraw route 131.107.10.10/32 next-hop 192.168.6.12"
            ])
    }

    @Test func aStoppedSpeakerStartsWithTheNewNextHopAndADrainSendsNothing() {
        var s = BGPSupervisor(nextHop: Self.oldHop, peers: [], drainSeconds: 5)
        _ = s.handle(.wanted([Self.vip]), now: 0)
        #expect(Self.commands(s.handle(.nextHop(Self.newHop), now: 0)) == [])
        #expect(
            Self.commands(s.handle(.speakerStarted, now: 0.1)) == [
                "announce route 131.107.10.10/32 next-hop 192.168.6.12"
            ])
        _ = s.handle(.drain, now: 1)
        #expect(Self.commands(s.handle(.nextHop(Self.oldHop), now: 1.5)) == [])
    }
}
