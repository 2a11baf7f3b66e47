import Foundation
import NVLBControl
import NVLBPolicy
import NVLBRouting
import NVLBTestSupport
import NVLBWire
import Synchronization
import Testing

/// A speaker that records commands and replays scripted output.
final class ScriptedSpeaker: BGPSpeakerIO, @unchecked Sendable {
    var starts = 0
    var failStarts = 0
    var sent: [String] = []
    var pending: [(lines: [String], exitStatus: Int32?)] = []
    var stopped = false
    var waits: [Double] = []

    func start() throws {
        starts += 1
        if failStarts > 0 {
            failStarts -= 1
            throw BGPSpeakerError(description: "scripted failure")
        }
    }
    func send(_ command: String) throws { sent.append(command) }
    func poll(timeout: Double) -> (lines: [String], exitStatus: Int32?) {
        waits.append(timeout)
        return pending.isEmpty ? ([], nil) : pending.removeFirst()
    }
    func stop() { stopped = true }
}

final class FakeClock: MonotonicClock, @unchecked Sendable {
    var time = 0.0
    func now() -> Double { time }
}

final class LogLines: @unchecked Sendable {
    let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var all: [String] { lines.withLock { $0 } }
}

@Suite struct BGPServiceTests {
    static let pa = IPv4Address("192.168.6.2")!
    static let vip = IPv4Address("131.107.10.10")!

    static func service(drain: Double = 5) -> (BGPService, ScriptedSpeaker, FakeClock, LogLines) {
        let io = ScriptedSpeaker()
        let clock = FakeClock()
        let log = LogLines()
        let supervisor = BGPSupervisor(
            nextHop: IPv4Address("192.168.6.11")!, peers: [IPv4Address("192.168.7.1")!], drainSeconds: drain)
        return (BGPService(supervisor: supervisor, io: io, clock: clock, log: log.append), io, clock, log)
    }

    @Test func announcesRestartsAndDrains() {
        let (service, io, clock, log) = Self.service()
        service.want([Self.vip, Self.pa])
        service.step()
        #expect(io.starts == 1)
        #expect(
            io.sent == [
                "announce route 131.107.10.10/32 next-hop 192.168.6.11",
                "announce route 192.168.6.2/32 next-hop 192.168.6.11",
            ])
        // The speaker reports its session, then dies.
        io.pending = [(["neighbor 192.168.7.1 up", ""], nil), ([], 137)]
        clock.time = 1
        service.step()
        #expect(service.state.peers[IPv4Address("192.168.7.1")!] == .up)
        service.step()
        #expect(!service.state.speakerRunning)
        // Restarted after the backoff (1 s), and told everything again.
        clock.time = 1.5
        service.step(maximumWait: 10)
        #expect(io.starts == 1)
        #expect(io.waits.last == 0.5)
        clock.time = 2
        service.step()
        #expect(io.starts == 2)
        #expect(io.sent.count == 4)
        // SIGTERM: withdrawals, then the drain time, then stop.
        service.drain()
        clock.time = 3
        #expect(service.step())
        #expect(
            Array(io.sent.suffix(2)) == [
                "withdraw route 131.107.10.10/32 next-hop 192.168.6.11",
                "withdraw route 192.168.6.2/32 next-hop 192.168.6.11",
            ])
        #expect(!io.stopped && !service.isStopped)
        clock.time = 8
        #expect(!service.step())
        #expect(io.stopped && service.isStopped)
        #expect(log.all.contains("bgp: peer 192.168.7.1 up"))
        #expect(log.all.contains("bgp: drain over"))
    }

    @Test func aSpeakerThatCannotStartIsRetried() {
        let (service, io, clock, log) = Self.service()
        io.failStarts = 1
        service.want([Self.pa])
        service.step()
        #expect(io.starts == 1)
        #expect(log.all.contains("bgp: cannot start the speaker: scripted failure"))
        clock.time = 1
        service.step()
        #expect(io.starts == 2)
        #expect(io.sent == ["announce route 192.168.6.2/32 next-hop 192.168.6.11"])
    }
}

/// Which prefixes an instance announces.
@Suite struct AnnouncedRoutesTests {
    static let pa = TestPolicies.ip("192.168.6.2")
    static let blue = TestPolicies.ip("131.107.10.10")
    static let red = TestPolicies.ip("131.107.20.20")

    @Test func externalVIPsWithADIPUpAndTheUnderlayAddress() {
        let configuration = TestPolicies.example()
        // The CA VIP 10.1.5.100 is internal: never announced.
        #expect(AnnouncedRoutes.prefixes(configuration, health: .allUp) == [Self.blue, Self.red, Self.pa])
    }

    @Test func aVIPWithEveryDIPAtWeightZeroIsWithdrawn() {
        var configuration = TestPolicies.example()
        for index in configuration.loadBalancers[2].backends.indices {
            configuration.loadBalancers[2].backends[index].weight = 0
        }
        #expect(AnnouncedRoutes.prefixes(configuration, health: .allUp) == [Self.blue, Self.pa])
    }

    @Test func aVIPWhoseProbedDIPsAreAllDownIsWithdrawn() {
        var configuration = TestPolicies.example()
        configuration.loadBalancers[2].probes = [.init(name: "web", kind: .tcp)]
        configuration.loadBalancers[2].rules[0].probe = "web"
        let one = HealthState.Target(
            loadBalancer: "red-web", probe: "web", vsid: 6001, ca: TestPolicies.ip("10.1.6.21"))
        let two = HealthState.Target(
            loadBalancer: "red-web", probe: "web", vsid: 6001, ca: TestPolicies.ip("10.1.6.22"))
        #expect(AnnouncedRoutes.prefixes(configuration, health: HealthState(down: [one])).contains(Self.red))
        #expect(
            AnnouncedRoutes.prefixes(configuration, health: HealthState(down: [one, two])) == [Self.blue, Self.pa])
    }
}
