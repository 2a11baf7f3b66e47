import Logging
import NVLBHealth
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// The prober on a fake clock with scripted replies: scheduling and jitter, rise/fall,
/// timeouts, counters and the log line of each transition.
@Suite struct ProberTests {
    typealias TestProber = Prober<FakeClock, ScriptedIO>

    static func prober(_ targets: [ProbeTarget], clock: FakeClock, log: CapturedLog = CapturedLog()) -> TestProber {
        TestProber(targets: targets, clock: clock, io: ScriptedIO(), seed: 42, logger: log.logger())
    }

    /// Advances to the next probe, answers its SYN with `flags` (nil: no answer) and runs
    /// the prober until the result is in. Returns the transitions.
    static func probeOnce(_ prober: TestProber, _ clock: FakeClock, answer flags: TCPFlags?) -> [HealthTransition] {
        clock.nanoseconds = prober.nextEvent
        var transitions = prober.step()
        let syn = prober.io.sent.last!
        if let flags {
            prober.io.inbound.append(Fixture.answer(to: syn, flags: flags))
            transitions += prober.step()
        } else {
            clock.nanoseconds = prober.nextEvent  // the deadline
            transitions += prober.step()
        }
        return transitions
    }

    @Test func startsUpGoesDownAfterFallAndUpAfterRise() {
        let clock = FakeClock()
        let log = CapturedLog()
        let prober = Self.prober([Fixture.target()], clock: clock, log: log)
        #expect(prober.healthState == .allUp)
        // Two failures: still up (fall 3).
        #expect(Self.probeOnce(prober, clock, answer: nil).isEmpty)
        #expect(Self.probeOnce(prober, clock, answer: [.rst, .ack]).isEmpty)
        // A success resets the failure count.
        #expect(Self.probeOnce(prober, clock, answer: [.syn, .ack]).isEmpty)
        #expect(Self.probeOnce(prober, clock, answer: nil).isEmpty)
        #expect(Self.probeOnce(prober, clock, answer: nil).isEmpty)
        let down = Self.probeOnce(prober, clock, answer: nil)
        #expect(down.map(\.to) == [.down] && down[0].lastResult == .timeout)
        #expect(prober.healthState.down == [Fixture.target().key])
        // One success is not enough (rise 2).
        #expect(Self.probeOnce(prober, clock, answer: [.syn, .ack]).isEmpty)
        let up = Self.probeOnce(prober, clock, answer: [.syn, .ack])
        #expect(up.map(\.to) == [.up] && up[0].lastResult == .synAck)
        #expect(prober.healthState == .allUp)

        let health = prober.statuses[0].health
        #expect(health.sent == 8 && health.failed == 5 && health.state == .up)
        #expect(
            log.all == [
                "warning: DIP 5001/10.1.6.21 (load balancer blue-web, probe web): up → down, last result: timeout",
                "notice: DIP 5001/10.1.6.21 (load balancer blue-web, probe web): down → up, last result: SYN-ACK",
            ])
    }

    @Test func probeDurationsAreObservedPerBucket() {
        let clock = FakeClock()
        let prober = Self.prober([Fixture.target()], clock: clock)
        // Answered 3 ms after the SYN: the 5 ms bucket.
        clock.nanoseconds = prober.nextEvent
        _ = prober.step()
        clock.advance(seconds: 0.003)
        prober.io.inbound.append(Fixture.answer(to: prober.io.sent.last!, flags: [.syn, .ack]))
        _ = prober.step()
        // No answer: the whole 2 s timeout, the 2.5 s bucket.
        _ = Self.probeOnce(prober, clock, answer: nil)
        let health = prober.statuses[0].health
        var expected = [UInt64](repeating: 0, count: DIPHealth.durationBounds.count + 1)
        expected[DIPHealth.durationBounds.firstIndex(of: 0.005)!] = 1
        expected[DIPHealth.durationBounds.firstIndex(of: 2.5)!] = 1
        #expect(health.durationBuckets == expected)
        #expect(abs(health.durationSum - 2.003) < 1e-9)
    }

    @Test func tcpProbeResetsTheConnectionAfterSynAck() throws {
        let clock = FakeClock()
        let prober = Self.prober([Fixture.target()], clock: clock)
        _ = Self.probeOnce(prober, clock, answer: [.syn, .ack])
        #expect(prober.io.sent.count == 2)
        let syn = try #require(ProbeFrame.parse(prober.io.sent[0]))
        let rst = try #require(ProbeFrame.parse(prober.io.sent[1]))
        #expect(syn.segment.flags == .syn && rst.segment.flags == .rst)
        #expect(rst.segment.sequence == syn.segment.sequence &+ 1)
        #expect(rst.sourcePort == syn.sourcePort && rst.destinationPort == 80)
    }

    @Test func httpProbeUpOn200DownOn503() throws {
        let clock = FakeClock()
        let log = CapturedLog()
        let prober = Self.prober([Fixture.target(.http, fall: 1)], clock: clock, log: log)
        func exchange(_ response: String) {
            clock.nanoseconds = prober.nextEvent
            prober.step()
            let syn = prober.io.sent.last!
            prober.io.inbound.append(Fixture.answer(to: syn, flags: [.syn, .ack], seq: 500))
            prober.step()
            let request = prober.io.sent.last!
            #expect(
                ProbeFrame.parse(request)?.segment.payload.starts(with: Array("GET /healthz HTTP/1.1\r\n".utf8)) == true
            )
            prober.io.inbound.append(
                Fixture.answer(to: request, flags: [.psh, .ack], seq: 501, payload: Array(response.utf8)))
            prober.step()
            #expect(ProbeFrame.parse(prober.io.sent.last!)?.segment.flags == [.rst, .ack])
        }
        exchange("HTTP/1.1 200 OK\r\n\r\n")
        #expect(prober.healthState == .allUp)
        exchange("HTTP/1.1 503 Service Unavailable\r\n\r\n")
        #expect(prober.healthState.down.count == 1)
        #expect(
            log.all == [
                "warning: DIP 5001/10.1.6.21 (load balancer blue-web, probe web): up → down, last result: HTTP 503"
            ])
    }

    @Test func slowHTTPAnswerTimesOut() {
        let clock = FakeClock()
        let prober = Self.prober([Fixture.target(.http, fall: 1)], clock: clock)
        clock.nanoseconds = prober.nextEvent
        prober.step()
        prober.io.inbound.append(Fixture.answer(to: prober.io.sent.last!, flags: [.syn, .ack]))
        prober.step()
        // The response comes after the 2 s timeout.
        clock.advance(seconds: 1.999)
        #expect(prober.step().isEmpty)
        clock.advance(seconds: 0.001)
        let down = prober.step()
        #expect(down.first?.lastResult == .timeout)
        #expect(ProbeFrame.parse(prober.io.sent.last!)?.segment.flags == [.rst, .ack], "the open connection is reset")
        // The late response matches nothing.
        prober.io.inbound.append(
            Fixture.answer(to: prober.io.sent[1], flags: [.psh, .ack], payload: Array("HTTP/1.1 200 OK\r\n".utf8)))
        #expect(prober.step().isEmpty)
        #expect(prober.unmatchedReplies == 1)
        #expect(prober.healthState.down.count == 1)
    }

    @Test func replyFromTheWrongDIPIsIgnored() {
        let clock = FakeClock()
        let prober = Self.prober([Fixture.target(fall: 1)], clock: clock)
        clock.nanoseconds = prober.nextEvent
        prober.step()
        var sent = ProbeFrame.parse(prober.io.sent.last!)!
        // Same local port, another source CA: not this probe's answer.
        sent.destination = TestPolicies.ip("10.1.6.20")
        let forged = FrameBuilder.encapsulate(
            inner: FrameBuilder.tcp(
                srcMAC: Fixture.dipMAC, dstMAC: Fixture.gateway, src: sent.destination, dst: sent.source, sport: 80,
                dport: sent.sourcePort, flags: [.rst, .ack], ack: sent.segment.sequence &+ 1),
            outerSourceMAC: Fixture.hostMAC, outerDestinationMAC: Actors.lbMAC, outerSource: Fixture.hostPA,
            outerDestination: Actors.lbPA, vsid: 5001)
        prober.io.inbound.append(forged)
        #expect(prober.step().isEmpty)
        #expect(prober.unmatchedReplies == 1)
        #expect(prober.healthState == .allUp)
    }

    @Test func noNextHopIsLoggedOnceAndChangesNothing() {
        let clock = FakeClock()
        let log = CapturedLog()
        let prober = Self.prober([Fixture.target(nextHop: nil, fall: 1)], clock: clock, log: log)
        for _ in 0..<3 {
            clock.nanoseconds = prober.nextEvent
            #expect(prober.step().isEmpty)
        }
        #expect(prober.io.sent.isEmpty)
        #expect(prober.healthState == .allUp)
        let health = prober.statuses[0].health
        #expect(health.sent == 3 && health.failed == 0 && health.lastResult == .unreachable)
        #expect(
            log.all == [
                "warning: DIP 5001/10.1.6.21 (load balancer blue-web, probe web): not probed, no next hop toward host 192.168.6.4 (no ARP answer; configure underlay.neighbors or underlay.gateway_mac)"
            ])
    }

    @Test func probesAreSpreadOverTheIntervalWithJitter() {
        let clock = FakeClock()
        let start = clock.nanoseconds
        let targets = (1...50).map { Fixture.target(dip: IPv4Address(10, 1, 7, UInt8($0))) }
        let prober = Self.prober(targets, clock: clock)
        // Walk the clock event by event over 3 intervals; record when each DIP is probed.
        var times: [IPv4Address: [UInt64]] = [:]
        while prober.nextEvent < start + 15_000_000_000 {
            clock.nanoseconds = prober.nextEvent
            let before = prober.io.sent.count
            prober.step()
            for frame in prober.io.sent[before...] {
                if let syn = ProbeFrame.parse(frame), syn.segment.flags == .syn {
                    times[syn.destination, default: []].append(clock.nanoseconds - start)
                }
            }
        }
        #expect(times.count == 50)
        let firsts = times.values.map { $0[0] }
        #expect(firsts.allSatisfy { $0 < 5_000_000_000 }, "first probes within the first interval")
        // Spread: the first probes fall into at least 8 of 10 half-second slots, no two together.
        #expect(Set(firsts.map { $0 / 500_000_000 }).count >= 8)
        #expect(Set(firsts).count == 50)
        for list in times.values {
            for (a, b) in zip(list, list.dropFirst()) {
                #expect((4_500_000_000...5_500_000_000).contains(b - a), "interval ± 10 %")
            }
        }
        #expect(Set(times.values.flatMap { zip($0, $0.dropFirst()).map { $1 - $0 } }).count > 10, "not in lockstep")

        // Deterministic: the same seed gives the same schedule.
        let again = Self.prober(targets, clock: FakeClock())
        #expect(again.nextEvent - FakeClock().nanoseconds == firsts.min())
    }

    @Test func updateKeepsStateOfSurvivingTargets() {
        let clock = FakeClock()
        let a = Fixture.target(fall: 1)
        let b = Fixture.target(dip: TestPolicies.ip("10.1.6.20"), fall: 1)
        let prober = Self.prober([a], clock: clock)
        _ = Self.probeOnce(prober, clock, answer: nil)
        #expect(prober.healthState.down == [a.key])
        prober.update(targets: [b, a])
        #expect(prober.healthState.down == [a.key], "a keeps its state")
        #expect(prober.statuses.map(\.target.key) == [b.key, a.key])
        prober.update(targets: [b])
        #expect(prober.healthState == .allUp)
    }
}
