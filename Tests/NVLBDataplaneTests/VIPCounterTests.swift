import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// Per-VIP counters (docs/metrics.md `nvlb_vip_packets_total`, `nvlb_vip_bytes_total`) and
/// lookup-record moves (docs/management.md "One change path").
@Suite("Per-VIP counters and lookup record moves")
struct VIPCounterTests {
    /// IP length of a TCP frame built by `Actors.external` with `payload` bytes: 20 + 20 + payload.
    static func ipLength(payload: Int) -> UInt64 { UInt64(20 + 20 + payload) }

    @Test("requests count in, replies count out, by load balancer and VIP; survive a reload")
    func countsBothDirections() throws {
        let configuration = TestPolicies.example()
        let harness = Harness(configuration)
        var out: [[UInt8]] = []
        for port in UInt16(30_000)..<30_010 {
            let forwarded = harness.run(Actors.external(sport: port, flags: .syn))
            #expect(forwarded.verdict == .forward(.underlay))
            out.append(forwarded.output)
        }
        // Three replies with state.
        for frame in out.prefix(3) {
            #expect(harness.run(try #require(Traffic.reply(to: frame))).verdict == .forward(.external))
        }
        var vip = try #require(harness.counters.vips["blue-web"]?["131.107.10.10"])
        #expect(vip.packetsIn == 10)
        #expect(vip.bytesIn == 10 * Self.ipLength(payload: 0))
        #expect(vip.packetsOut == 3)
        #expect(vip.bytesOut == 3 * Self.ipLength(payload: 0))
        // A frame to a VIP without a rule for its port is dropped and counted nowhere.
        _ = harness.run(Actors.external(sport: 30_100, dport: 81))
        #expect(harness.counters.vips["blue-web"]?["131.107.10.10"]?.packetsIn == 10)

        // A new policy (new listener indices): earlier counts are kept, replies of open
        // flows still count against their VIP.
        var reordered = configuration
        reordered.loadBalancers.reverse()
        harness.snapshot = PolicySnapshot(configuration: reordered)
        for frame in out.suffix(2) {
            #expect(harness.run(try #require(Traffic.reply(to: frame))).verdict == .forward(.external))
        }
        _ = harness.run(Actors.external(sport: 30_000, flags: .ack, payload: [1, 2, 3, 4]))
        vip = try #require(harness.counters.vips["blue-web"]?["131.107.10.10"])
        #expect(vip.packetsIn == 11)
        #expect(vip.bytesIn == 10 * Self.ipLength(payload: 0) + Self.ipLength(payload: 4))
        #expect(vip.packetsOut == 5)
        // Every VIP of the policy is listed, zeros included.
        #expect(harness.counters.vips["red-web"]?["131.107.20.20"] == VIPCounters())
    }

    @Test("internal VIPs are labelled VSID/VIP")
    func internalLabel() throws {
        let harness = Harness(TestPolicies.example())
        let inner = FrameBuilder.tcp(
            srcMAC: Actors.clientVMMAC, dstMAC: Actors.blueGateway, src: Actors.clientVM, dst: Actors.appVIP,
            sport: 40_000, dport: 8080, flags: .syn, payload: [])
        let frame = Actors.fromHost(
            hostPA: Actors.clientHostPA, hostMAC: Actors.clientHostMAC, vsid: 5002, inner: inner)
        #expect(harness.run(frame).verdict == .forward(.underlay))
        #expect(harness.counters.vips["blue-app"]?["5002/10.1.5.100"]?.packetsIn == 1)
    }

    @Test("a moved lookup record re-targets existing flows: their next packets go to the new PA")
    func movedRecordRetargetsFlows() throws {
        let configuration = TestPolicies.example()
        let harness = Harness(configuration, flowCapacity: 4096)
        var dips: [UInt16: IPv4Address] = [:]
        for port in UInt16(10_000)..<10_200 {
            dips[port] = try #require(Traffic.delivery(harness.run(Actors.external(sport: port, flags: .syn)).output))
                .dip
        }
        let moved = TestPolicies.ip("10.1.6.21")
        #expect(dips.values.contains(moved))
        var migrated = configuration
        let blue = try #require(migrated.routingDomains.firstIndex { $0.name == "blue" })
        let record = try #require(
            migrated.routingDomains[blue].lookupRecords.firstIndex { $0.ca == moved && $0.vsid == 5001 })
        let newPA = TestPolicies.ip("192.168.6.44")
        #expect(migrated.routingDomains[blue].lookupRecords[record].pa != newPA)
        migrated.routingDomains[blue].lookupRecords[record].pa = newPA
        migrated.underlay.neighbors.append(.init(address: newPA, mac: TestPolicies.mac("02:00:00:00:06:44")))
        harness.snapshot = PolicySnapshot(configuration: migrated)
        for (port, dip) in dips {
            let delivery = try #require(Traffic.delivery(harness.run(Actors.external(sport: port, flags: .ack)).output))
            #expect(delivery.dip == dip, "the flow keeps its DIP")
            if dip == moved {
                #expect(delivery.pa == newPA)
            } else {
                #expect(delivery.pa != newPA)
            }
        }
    }
}
