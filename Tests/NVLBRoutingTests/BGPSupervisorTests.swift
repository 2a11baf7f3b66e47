import NVLBRouting
import NVLBWire
import Testing

/// The supervision state machine, driven with scripted speaker events and made-up times.
@Suite struct BGPSupervisorTests {
    static let vip = IPv4Address("131.107.10.10")!
    static let vip2 = IPv4Address("131.107.20.20")!
    static let pa = IPv4Address("192.168.6.2")!
    static let router = IPv4Address("192.168.7.1")!

    static func make(drain: Double = 5) -> BGPSupervisor {
        BGPSupervisor(nextHop: IPv4Address("192.168.6.11")!, peers: [router], drainSeconds: drain)
    }

    static func commands(_ actions: [BGPSupervisor.Action]) -> [String] {
        actions.compactMap { if case .command(let line) = $0 { line } else { nil } }
    }

    @Test func startsTheSpeakerThenAnnouncesWhatIsWanted() {
        var s = Self.make()
        #expect(s.handle(.wanted([Self.vip, Self.pa]), now: 0) == [.startSpeaker])
        // Nothing is sent before the speaker runs.
        #expect(s.handle(.tick, now: 0.1) == [])
        let started = s.handle(.speakerStarted, now: 0.2)
        #expect(
            Self.commands(started) == [
                "announce route 131.107.10.10/32 next-hop 192.168.6.11",
                "announce route 192.168.6.2/32 next-hop 192.168.6.11",
            ])
        #expect(started.contains(.log("bgp: announce 131.107.10.10/32 next-hop 192.168.6.11")))
        #expect(s.announced == [Self.vip, Self.pa])
    }

    @Test func changesAreSentAsDifferences() {
        var s = Self.make()
        _ = s.handle(.wanted([Self.vip, Self.pa]), now: 0)
        _ = s.handle(.speakerStarted, now: 0)
        // The VIP lost its last DIP; another one gained one.
        let actions = s.handle(.wanted([Self.vip2, Self.pa]), now: 1)
        #expect(
            Self.commands(actions) == [
                "withdraw route 131.107.10.10/32 next-hop 192.168.6.11",
                "announce route 131.107.20.20/32 next-hop 192.168.6.11",
            ])
        #expect(actions.contains(.log("bgp: withdraw 131.107.10.10/32")))
        // The same set again: nothing.
        #expect(s.handle(.wanted([Self.pa, Self.vip2]), now: 2) == [])
    }

    @Test func aRestartedSpeakerGetsEverythingAgainAfterABackoff() {
        var s = Self.make()
        _ = s.handle(.wanted([Self.vip, Self.pa]), now: 0)
        _ = s.handle(.speakerStarted, now: 0)
        let exited = s.handle(.speakerExited(status: 137), now: 10)
        #expect(exited.contains(.log("bgp: speaker exited (status 137); its 2 announcements are gone")))
        #expect(!exited.contains(.startSpeaker))
        #expect(s.nextDeadline(now: 10) == 1)
        #expect(s.handle(.tick, now: 10.5) == [])
        #expect(s.handle(.tick, now: 11) == [.startSpeaker])
        #expect(Self.commands(s.handle(.speakerStarted, now: 11.1)).count == 2)
        // A second failure waits twice as long.
        _ = s.handle(.speakerExited(status: 1), now: 12)
        #expect(s.nextDeadline(now: 12) == 2)
        #expect(s.handle(.tick, now: 13.9) == [])
        #expect(s.handle(.tick, now: 14) == [.startSpeaker])
    }

    @Test func peerSessionsAreParsedFromTheTextEncoder() {
        var s = Self.make()
        _ = s.handle(.wanted([Self.pa]), now: 0)
        _ = s.handle(.speakerStarted, now: 0)
        // Connection attempts are quiet; up and down are logged.
        #expect(s.handle(.speakerLine("neighbor 192.168.7.1 connected"), now: 1) == [])
        #expect(s.peers[Self.router] == .connected)
        #expect(s.handle(.speakerLine(""), now: 1) == [])
        #expect(s.handle(.speakerLine("neighbor 192.168.7.1 up"), now: 2) == [.log("bgp: peer 192.168.7.1 up")])
        #expect(s.peers[Self.router] == .up)
        #expect(
            s.handle(.speakerLine("neighbor 192.168.7.1 down - peer reset, message [closing connection]"), now: 3)
                == [.log("bgp: peer 192.168.7.1 down (peer reset, message [closing connection])")])
        // Unknown peers and other messages are ignored.
        #expect(s.handle(.speakerLine("neighbor 10.9.9.9 up"), now: 4) == [])
        #expect(s.handle(.speakerLine("neighbor 192.168.7.1 update start"), now: 4) == [])
        #expect(s.peers[Self.router] == .down)
    }

    @Test func drainWithdrawsEverythingThenStopsAfterTheDrainTime() {
        var s = Self.make(drain: 5)
        _ = s.handle(.wanted([Self.vip, Self.pa]), now: 0)
        _ = s.handle(.speakerStarted, now: 0)
        let drain = s.handle(.drain, now: 100)
        #expect(
            Self.commands(drain) == [
                "withdraw route 131.107.10.10/32 next-hop 192.168.6.11",
                "withdraw route 192.168.6.2/32 next-hop 192.168.6.11",
            ])
        #expect(!drain.contains(.stop))
        // Health changes during the drain announce nothing.
        #expect(s.handle(.wanted([Self.vip, Self.pa]), now: 101) == [])
        #expect(s.nextDeadline(now: 102) == 3)
        #expect(s.handle(.tick, now: 104.9) == [])
        #expect(s.handle(.tick, now: 105) == [.log("bgp: drain over"), .stop])
        #expect(s.stopped)
        #expect(s.handle(.tick, now: 200) == [])
    }

    @Test func aSpeakerThatDiesDuringTheDrainIsNotRestarted() {
        var s = Self.make(drain: 5)
        _ = s.handle(.wanted([Self.pa]), now: 0)
        _ = s.handle(.speakerStarted, now: 0)
        _ = s.handle(.drain, now: 1)
        #expect(!s.handle(.speakerExited(status: 0), now: 2).contains(.startSpeaker))
        #expect(!s.handle(.tick, now: 4).contains(.startSpeaker))
        #expect(s.handle(.tick, now: 6).last == .stop)
    }

    @Test func zeroDrainStopsAtOnce() {
        var s = Self.make(drain: 0)
        _ = s.handle(.wanted([Self.pa]), now: 0)
        _ = s.handle(.speakerStarted, now: 0)
        let actions = s.handle(.drain, now: 1)
        #expect(Self.commands(actions) == ["withdraw route 192.168.6.2/32 next-hop 192.168.6.11"])
        #expect(actions.last == .stop)
    }
}
