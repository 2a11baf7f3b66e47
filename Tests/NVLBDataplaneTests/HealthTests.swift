import NVLBBalancing
import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// The data plane side of health probes (docs/health.md): Maglev tables without down
/// DIPs, re-homing of their flows, fail open, and recognition of probe replies.
@Suite struct HealthTests {
    static let vm1 = ReloadTests.vm1
    static let vm2 = ReloadTests.vm2
    static let probeSource = TestPolicies.ip("10.1.6.254")

    /// Four DIPs on blue-web; the TCP rule probed by `web`, the UDP rule not probed.
    static func probed() -> PolicyConfiguration {
        var configuration = ReloadTests.fourDIPs()
        configuration.routingDomains[0].probeSource = probeSource
        configuration.loadBalancers[0].probes = [.init(name: "web", kind: .http, port: 80, path: "/healthz")]
        configuration.loadBalancers[0].rules[0].probe = "web"
        return configuration
    }

    static func down(_ cas: IPv4Address...) -> HealthState {
        HealthState(down: Set(cas.map { .init(loadBalancer: "blue-web", probe: "web", vsid: 5001, ca: $0) }))
    }

    /// The global backend chosen for `hash` by every slot of rule `rule`.
    static func slots(_ s: PolicySnapshot, rule: Int) -> [UInt16] {
        let offset = Int(s.rules[rule].maglevOffset)
        return (0..<s.maglevTableSize).map { s.maglev[offset + $0] }
    }

    @Test func downDIPHasNoSlotsAsWithWeightZero() {
        let configuration = Self.probed()
        let healthy = PolicySnapshot(configuration: configuration)
        let withDown = PolicySnapshot(configuration: configuration, health: Self.down(Self.vm2))
        var drained = configuration
        drained.loadBalancers[0].backends[1].weight = 0
        let weightZero = PolicySnapshot(configuration: drained)

        let table = Self.slots(withDown, rule: 0)
        #expect(!table.contains(1), "the down DIP (backend 1) owns no slot")
        #expect(table == Self.slots(weightZero, rule: 0), "the same table as weight 0")
        // Maglev moves few slots of the healthy DIPs (flow state keeps their flows anyway).
        let before = Self.slots(healthy, rule: 0)
        let kept = zip(before, table).filter { old, _ in old != 1 }
        let moved = kept.filter { old, new in old != new }.count
        #expect(moved * 20 < kept.count, "\(moved) of \(kept.count) healthy slots moved")
        // The unprobed UDP rule keeps every DIP.
        #expect(Self.slots(withDown, rule: 1) == Self.slots(healthy, rule: 1))
        #expect(Set(Self.slots(withDown, rule: 1)) == [0, 1, 2, 3])
        #expect(withDown.failOpenRules.isEmpty)
        #expect(withDown.isDown(rule: 0, backend: 1) && !withDown.isDown(rule: 0, backend: 0))
        #expect(!withDown.isDown(rule: 1, backend: 1))
    }

    @Test func healthOfAnotherProbeOrBalancerDoesNotApply() {
        let configuration = Self.probed()
        let other = HealthState(down: [
            .init(loadBalancer: "blue-web", probe: "other", vsid: 5001, ca: Self.vm2),
            .init(loadBalancer: "blue-app", probe: "web", vsid: 5001, ca: Self.vm2),
        ])
        let s = PolicySnapshot(configuration: configuration, health: other)
        #expect(Self.slots(s, rule: 0) == Self.slots(PolicySnapshot(configuration: configuration), rule: 0))
    }

    @Test func allDIPsDownFailsOpen() {
        let configuration = Self.probed()
        let all = Self.down(ReloadTests.vm1, ReloadTests.vm2, ReloadTests.vm3, ReloadTests.vm4)
        let s = PolicySnapshot(configuration: configuration, health: all)
        #expect(Self.slots(s, rule: 0) == Self.slots(PolicySnapshot(configuration: configuration), rule: 0))
        #expect(s.failOpenRules == [FailOpenRule(loadBalancer: "blue-web", rule: 0, probe: "web")])
        #expect(!s.isDown(rule: 0, backend: 0), "failing open, no flow is re-homed")
        #expect(
            s.failOpenRules[0].description
                == "load balancer blue-web rules[0]: every DIP is down for probe web, using them all (fail open)")

        // Every DIP with weight > 0 down, one drained DIP up: still fail open.
        var drained = configuration
        drained.loadBalancers[0].backends[3].weight = 0
        let s2 = PolicySnapshot(
            configuration: drained, health: Self.down(ReloadTests.vm1, ReloadTests.vm2, ReloadTests.vm3))
        #expect(s2.failOpenRules.count == 1)
    }

    @Test func flowsOfADownDIPAreReHomedOthersStay() throws {
        let configuration = Self.probed()
        let harness = Harness(configuration, flowCapacity: 8192)
        let before = try ReloadTests.openFlows(harness, ports: 10_000..<10_400)
        #expect(before.values.contains(Self.vm2))

        harness.snapshot = PolicySnapshot(configuration: configuration, health: Self.down(Self.vm2))
        var moved = 0
        for (port, dip) in before {
            let now = try ReloadTests.dip(harness, port: port)
            if dip == Self.vm2 {
                #expect(now != Self.vm2, "flow \(port) still on the down DIP")
                moved += 1
            } else {
                #expect(now == dip, "flow \(port) moved from a healthy DIP")
            }
        }
        #expect(moved > 0)
        // New flows avoid it too.
        for port in UInt16(20_000)..<20_200 {
            #expect(try ReloadTests.dip(harness, port: port, flags: .syn) != Self.vm2)
        }

        // Up again: re-homed flows stay where they are now (no flapping back).
        let afterDown = try Dictionary(
            uniqueKeysWithValues: before.keys.map { ($0, try ReloadTests.dip(harness, port: $0)) })
        harness.snapshot = PolicySnapshot(configuration: configuration)
        for (port, dip) in afterDown { #expect(try ReloadTests.dip(harness, port: port) == dip) }
    }

    @Test func failOpenKeepsFlowsOnTheirDIPs() throws {
        let configuration = Self.probed()
        let harness = Harness(configuration, flowCapacity: 8192)
        let before = try ReloadTests.openFlows(harness, ports: 10_000..<10_100)
        harness.snapshot = PolicySnapshot(
            configuration: configuration,
            health: Self.down(ReloadTests.vm1, ReloadTests.vm2, ReloadTests.vm3, ReloadTests.vm4))
        for (port, dip) in before { #expect(try ReloadTests.dip(harness, port: port) == dip) }
    }

    // MARK: Probe replies

    /// A frame from VM2 (10.1.6.21, on host 1) to `destination`, as its host sends it.
    static func fromVM2(to destination: IPv4Address, hostPA: IPv4Address = Actors.host1PA) -> [UInt8] {
        Actors.fromHost(
            hostPA: hostPA, vsid: 5001,
            inner: FrameBuilder.tcp(
                srcMAC: Actors.vm2MAC, dstMAC: Actors.blueGateway, src: Self.vm2, dst: destination, sport: 80,
                dport: 33000, flags: [.syn, .ack], seq: 7, ack: 1001))
    }

    @Test func probeReplyIsAnsweredAndQueued() throws {
        let harness = Harness(Self.probed())
        let queue = ProbeReplyQueue(capacity: 4)
        harness.worker.probeReplies = queue
        let frame = Self.fromVM2(to: Self.probeSource)
        let result = harness.run(frame)
        #expect(result.verdict == .consumed)
        #expect(harness.counters.answered == 1 && harness.counters.packetsOut == 0 && harness.counters.dropped == 0)
        #expect(queue.dequeue() == frame)
        #expect(queue.dequeue() == nil)
        // The checked classification (a second, slower path) agrees.
        var copy = frame
        let c = copy.withUnsafeMutableBytes { buffer -> Classification in
            var packet = Packet(base: buffer.baseAddress!, start: 0, length: buffer.count)
            return DataplaneWorker.classify(&packet, snapshot: harness.snapshot)
        }
        #expect(c.kind == .probeReply)
    }

    @Test func probeReplyWithoutProberIsCountedAndDiscarded() {
        let harness = Harness(Self.probed())
        #expect(harness.run(Self.fromVM2(to: Self.probeSource)).verdict == .consumed)
        #expect(harness.counters.answered == 1)
    }

    @Test func spoofedProbeReplyIsDropped() {
        let harness = Harness(Self.probed())
        let queue = ProbeReplyQueue(capacity: 4)
        harness.worker.probeReplies = queue
        let verdict = harness.run(Self.fromVM2(to: Self.probeSource, hostPA: TestPolicies.ip("192.168.6.9"))).verdict
        #expect(verdict == .drop(.spoofed))
        #expect(queue.dequeue() == nil)
    }

    @Test func withoutProbeSourceItIsAnOrdinaryReply() {
        var configuration = Self.probed()
        configuration.routingDomains[0].probeSource = nil
        let harness = Harness(configuration)
        // Forwarded statelessly toward the Internet, as any reply without a flow.
        #expect(harness.run(Self.fromVM2(to: Self.probeSource)).verdict == .forward(.external))
        #expect(harness.counters.answered == 0)
    }

    @Test func fullQueueDropsAndCounts() {
        let queue = ProbeReplyQueue(capacity: 2)
        let frame: [UInt8] = [1, 2, 3]
        frame.withUnsafeBytes { bytes in
            #expect(queue.enqueue(bytes.baseAddress!, length: 3))
            #expect(queue.enqueue(bytes.baseAddress!, length: 3))
            #expect(!queue.enqueue(bytes.baseAddress!, length: 3))
        }
        #expect(queue.overflows == 1)
        #expect(queue.dequeue() == frame)
        frame.withUnsafeBytes { #expect(queue.enqueue($0.baseAddress!, length: 3)) }
        #expect(queue.dequeue() == frame && queue.dequeue() == frame && queue.dequeue() == nil)
    }
}
