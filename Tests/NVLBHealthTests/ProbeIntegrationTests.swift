import Dispatch
import Logging
import NVLBControl
import NVLBDataplane
import NVLBHealth
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Synchronization
import Testing

/// The prober with the rest of nvlb: targets from a configuration file, replies through
/// the pipeline and its reply queue, health changes compiled into the policy.
@Suite struct ProbeIntegrationTests {
    static let yaml = """
        underlay:
          address: 192.168.6.2
          mac: 02:4c:42:00:06:02
          gateway_mac: 02:00:00:00:06:01
          neighbors: [ { address: 192.168.6.4, mac: 02:00:00:00:06:04 } ]
          flow_id: zero
        external:
          mac: 02:4c:42:00:00:01
          gateway_mac: 02:00:00:00:00:fe
        routing_domains:
          - name: blue
            gateway_mac: 02:4c:42:00:b1:00
            subnets: [5001]
            probe_source: 10.1.6.254
            lookup_records:
              - { vsid: 5001, ca: 10.1.6.20, pa: 192.168.6.3, mac: 00:15:5d:01:06:20 }
              - { vsid: 5001, ca: 10.1.6.21, pa: 192.168.6.4, mac: 00:15:5d:01:06:21 }
        load_balancers:
          - name: blue-web
            routing_domain: blue
            frontends: [ { vip: 131.107.10.10 } ]
            probes:
              - { name: web, protocol: http, path: /healthz, interval: 2, timeout: 1, rise: 1, fall: 1 }
              - { name: unused, protocol: tcp, port: 22 }
            rules:
              - { protocol: tcp, frontend_port: 80, backend_port: 8080, probe: web }
            backends: [ { vsid: 5001, ca: 10.1.6.20 }, { vsid: 5001, ca: 10.1.6.21 } ]

        """

    static func configuration(_ text: String = yaml) throws -> PolicyConfiguration {
        try ConfigurationLoader.load(yaml: text, fileName: "t.yaml")
    }

    @Test func targetsFromConfiguration() throws {
        let config = try Self.configuration()
        let targets = ProbeTarget.all(in: PolicySnapshot(configuration: config))
        #expect(
            targets.map(\.key.ca) == [TestPolicies.ip("10.1.6.20"), TestPolicies.ip("10.1.6.21")],
            "unused probe not run")
        let t = targets[1]
        #expect(t.key == .init(loadBalancer: "blue-web", probe: "web", vsid: 5001, ca: TestPolicies.ip("10.1.6.21")))
        #expect(t.kind == .http && t.port == 8080 && t.path == "/healthz", "port: the rule's backend port")
        #expect(t.interval == 2_000_000_000 && t.timeout == 1_000_000_000)
        #expect(t.rise == 1 && t.fall == 1)
        let a = t.addressing
        #expect(a.hostPA == TestPolicies.ip("192.168.6.4") && a.dipMAC == TestPolicies.mac("00:15:5d:01:06:21"))
        #expect(a.nextHopMAC == TestPolicies.mac("02:00:00:00:06:04"), "static neighbour")
        #expect(targets[0].addressing.nextHopMAC == TestPolicies.mac("02:00:00:00:06:01"), "gateway")
        #expect(a.probeSource == TestPolicies.ip("10.1.6.254") && a.gatewayMAC == TestPolicies.mac("02:4c:42:00:b1:00"))
        #expect(a.flowIDSeed == nil)
    }

    /// A DIP answering 503 through the data plane goes down; the republished policy sends
    /// every new flow to the other DIP.
    @Test func replyThroughPipelineTakesDIPDown() throws {
        let config = try Self.configuration()
        var snapshot = PolicySnapshot(configuration: config)
        let queue = ProbeReplyQueue()
        var worker = DataplaneWorker(flowCapacity: 1024)
        worker.probeReplies = queue
        let clock = FakeClock()
        let prober = Prober(
            targets: ProbeTarget.all(in: snapshot), clock: clock, io: ScriptedIO(), seed: 1,
            logger: CapturedLog().logger())
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 64)
        defer { buffer.deallocate() }
        /// Runs a DIP's frame through the worker, as the live loop would.
        func deliver(_ frame: [UInt8]) -> Verdict {
            frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
            return worker.process(&packet, snapshot: snapshot, now: 1)
        }
        func drain() { while let frame = queue.dequeue() { prober.io.inbound.append(frame) } }

        // Probe both DIPs once: 10.1.6.20 answers 200, 10.1.6.21 answers 503.
        var transitions: [HealthTransition] = []
        for _ in 0..<2 {
            clock.nanoseconds = prober.nextEvent
            prober.step()
            let syn = prober.io.sent.last!
            let dip = ProbeFrame.parse(syn)!.destination
            let first = dip == TestPolicies.ip("10.1.6.20")
            let host = first ? TestPolicies.ip("192.168.6.3") : Fixture.hostPA
            let mac = first ? TestPolicies.mac("00:15:5d:01:06:20") : Fixture.dipMAC
            let synAck = Fixture.answer(to: syn, flags: [.syn, .ack], seq: 1, fromHost: host, dipMAC: mac)
            #expect(deliver(synAck) == .consumed)
            drain()
            prober.step()
            let request = prober.io.sent.last!
            let status = dip == TestPolicies.ip("10.1.6.20") ? "200 OK" : "503 Service Unavailable"
            #expect(
                deliver(
                    Fixture.answer(
                        to: request, flags: [.psh, .ack], seq: 2, payload: Array("HTTP/1.1 \(status)\r\n\r\n".utf8),
                        fromHost: host, dipMAC: mac)) == .consumed)
            drain()
            transitions += prober.step()
        }
        #expect(
            transitions.map(\.description) == [
                "DIP 5001/10.1.6.21 (load balancer blue-web, probe web): up → down, last result: HTTP 503"
            ])
        #expect(worker.counters.snapshot().answered == 4)

        // Republish with the prober's health: new flows avoid the down DIP.
        snapshot = PolicySnapshot(configuration: config, health: prober.healthState)
        for port in UInt16(30_000)..<30_100 {
            let frame = Actors.external(sport: port, flags: .syn)
            #expect(deliver(frame) == .forward(.underlay))
            let sent = ParsedFrame(
                Array(UnsafeRawBufferPointer(start: buffer + Packet.headroom - 42, count: frame.count + 42)))
            #expect(sent?.inner?.ipv4?.destination == TestPolicies.ip("10.1.6.20"))
        }
    }

    /// The service on its own thread with the real clock: a DIP that never answers goes
    /// down within interval + timeout, and `publish` receives the new health.
    @Test(.timeLimit(.minutes(1))) func serviceThreadPublishesHealthChanges() throws {
        let snapshot = PolicySnapshot(configuration: try Self.configuration())
        let sent = Mutex(0)
        let published = Mutex<[HealthState]>([])
        let changed = DispatchSemaphore(value: 0)
        let service = ProbeService(
            targets: ProbeTarget.all(in: snapshot),
            io: LiveProbeIO(queues: [ProbeReplyQueue()], transmit: { _ in sent.withLock { $0 += 1 } }),
            logger: CapturedLog().logger()
        ) { state in
            published.withLock { $0.append(state) }
            if state.down.count == 2 { changed.signal() }
        }
        service.start()
        let result = changed.wait(timeout: .now() + 20)
        service.stop()
        #expect(result == .success)
        #expect(sent.withLock { $0 } >= 2)
        #expect(published.withLock { $0.last?.down.count } == 2)
        #expect(service.statuses.allSatisfy { $0.health.state == .down && $0.health.lastResult == .timeout })
    }
}
