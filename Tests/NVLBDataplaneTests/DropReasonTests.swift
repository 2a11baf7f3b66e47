import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// Every drop reason of docs/packets.md "Drop reasons" with a frame that must produce it.
@Suite struct DropReasonTests {
    static let blueHost = TestPolicies.ip("192.168.6.4")
    static let vm2 = Actors.vm2
    static let vm2MAC = Actors.vm2MAC
    static let clientVM = TestPolicies.ip("10.1.5.20")
    static let clientVMMAC = TestPolicies.mac("00:15:5d:01:05:20")
    static let clientHost = TestPolicies.ip("192.168.6.7")

    /// Inner frame of VM2 answering an Internet client.
    static func vm2Reply(dst: IPv4Address = Actors.client, sport: UInt16 = 80, dport: UInt16 = 40000) -> [UInt8] {
        FrameBuilder.tcp(
            srcMAC: vm2MAC, dstMAC: Actors.blueGateway, src: vm2, dst: dst, sport: sport, dport: dport,
            flags: [.syn, .ack])
    }

    /// Inner frame of the client VM to the CA VIP.
    static func clientToApp(srcMAC: MACAddress = clientVMMAC, dport: UInt16 = 8080) -> [UInt8] {
        FrameBuilder.tcp(
            srcMAC: srcMAC, dstMAC: Actors.blueGateway, src: clientVM, dst: Actors.appVIP, sport: 50000, dport: dport,
            flags: .syn)
    }

    static func expectDrop(
        _ reason: DropReason, _ frame: [UInt8], configuration: PolicyConfiguration = TestPolicies.example(),
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let harness = Harness(configuration)
        let result = harness.run(frame)
        #expect(result.verdict == .drop(reason), sourceLocation: sourceLocation)
        let counters = harness.counters
        #expect(counters[reason] == 1, sourceLocation: sourceLocation)
        #expect(
            counters.dropped == 1 && counters.packetsIn == 1 && counters.packetsOut == 0, sourceLocation: sourceLocation
        )
    }

    /// Replaces bytes at `offset` in a frame.
    static func patch(_ frame: [UInt8], at offset: Int, _ bytes: [UInt8]) -> [UInt8] {
        var copy = frame
        copy.replaceSubrange(offset..<offset + bytes.count, with: bytes)
        return copy
    }

    @Test func malformed() {
        Self.expectDrop(.malformed, [0x02, 0x4c, 0x42])
        // IPv4 total length beyond the frame.
        Self.expectDrop(.malformed, Self.patch(Actors.external(), at: 16, [0x05, 0xdc]))
        // IHL below 5.
        Self.expectDrop(.malformed, Self.patch(Actors.external(), at: 14, [0x44]))
        // NVGRE packet cut inside the GRE header.
        let nvgre = Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: Self.vm2Reply())
        Self.expectDrop(.malformed, Self.patch(Array(nvgre.prefix(38)), at: 16, [0x00, 0x18]))
        // TCP data offset below 5.
        Self.expectDrop(.malformed, Self.patch(Actors.external(), at: 46, [0x40]))
    }

    @Test func notForUs() {
        // Another MAC.
        Self.expectDrop(.notForUs, Self.patch(Actors.external(), at: 0, [0x02, 0, 0, 0, 0, 0x99]))
        // Plain IPv4 to the underlay MAC for an address that is not nvlb's.
        let plain = FrameBuilder.tcp(
            srcMAC: Actors.host1MAC, dstMAC: Actors.lbMAC, src: Self.blueHost, dst: TestPolicies.ip("192.168.6.9"),
            sport: 1, dport: 2)
        Self.expectDrop(.notForUs, plain)
        // Inner destination MAC is not the routing domain's gateway MAC.
        var inner = Self.vm2Reply()
        inner.replaceSubrange(0..<6, with: [0x02, 0x4c, 0x42, 0x00, 0xe1, 0x00])  // red's gateway
        Self.expectDrop(.notForUs, Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: inner))
        // ARP request for an address nvlb does not own.
        Self.expectDrop(
            .notForUs,
            FrameBuilder.arpRequest(
                senderMAC: Actors.host1MAC, senderIP: Self.blueHost, targetIP: TestPolicies.ip("192.168.6.99")))
    }

    @Test func unsupported() {
        // IPv6.
        let ipv6 = FrameBuilder.ethernet(
            destination: Actors.externalMAC, source: Actors.routerMAC, etherType: EthernetHeader.etherTypeIPv6,
            payload: [UInt8](repeating: 0, count: 60))
        Self.expectDrop(.unsupported, ipv6)
        // ICMP to a VIP that is neither echo nor an error (timestamp request).
        let icmp = FrameBuilder.ipv4(
            srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client, dst: Actors.blueVIP,
            protocolNumber: 1, payload: [13, 0, 0xf2, 0xff, 0, 0, 0, 0])
        Self.expectDrop(.unsupported, icmp)
        // Non-GRE traffic to nvlb's PA.
        let toPA = FrameBuilder.udp(
            srcMAC: Actors.host1MAC, dstMAC: Actors.lbMAC, src: Self.blueHost, dst: Actors.lbPA, sport: 1, dport: 2)
        Self.expectDrop(.unsupported, toPA)
        // Outer 802.1Q tag.
        let tagged = FrameBuilder.tcp(
            srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client, dst: Actors.blueVIP, sport: 1,
            dport: 80, vlanID: 7)
        Self.expectDrop(.unsupported, tagged)
    }

    @Test func badGRE() {
        let frame = Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: Self.vm2Reply())
        Self.expectDrop(.badGRE, Self.patch(frame, at: 34, [0x30, 0x00]))  // checksum bit set
        Self.expectDrop(.badGRE, Self.patch(frame, at: 34, [0x20, 0x01]))  // version 1
        Self.expectDrop(.badGRE, Self.patch(frame, at: 36, [0x08, 0x00]))  // protocol IPv4, not 0x6558
    }

    @Test(arguments: [UInt32(0), 100, 4095, 0xFF_FFFF])
    func reservedVSID(_ vsid: UInt32) {
        Self.expectDrop(.reservedVSID, Actors.fromHost(hostPA: Self.blueHost, vsid: vsid, inner: Self.vm2Reply()))
    }

    @Test func unknownVSID() {
        Self.expectDrop(.unknownVSID, Actors.fromHost(hostPA: Self.blueHost, vsid: 7000, inner: Self.vm2Reply()))
    }

    @Test func innerVLAN() {
        let inner = FrameBuilder.tcp(
            srcMAC: Self.vm2MAC, dstMAC: Actors.blueGateway, src: Self.vm2, dst: Actors.client, sport: 80,
            dport: 40000, vlanID: 12)
        Self.expectDrop(.innerVLAN, Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: inner))
    }

    @Test func fragment() {
        // Outer fragment (MF set).
        let frame = Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: Self.vm2Reply())
        Self.expectDrop(.fragment, Self.patch(frame, at: 20, [0x20, 0x00]))
        // External non-first fragment.
        let external = FrameBuilder.tcp(
            srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client, dst: Actors.blueVIP, sport: 1,
            dport: 80, ip: .init(dontFragment: false, fragmentOffset: 100))
        Self.expectDrop(.fragment, external)
        // Inner non-first fragment.
        let inner = FrameBuilder.tcp(
            srcMAC: Self.vm2MAC, dstMAC: Actors.blueGateway, src: Self.vm2, dst: Actors.client, sport: 80,
            dport: 40000, ip: .init(dontFragment: false, fragmentOffset: 3))
        Self.expectDrop(.fragment, Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: inner))
    }

    @Test func spoofed() {
        // Internal request from a PA that is not the client's host.
        Self.expectDrop(
            .spoofed, Actors.fromHost(hostPA: TestPolicies.ip("192.168.6.99"), vsid: 5002, inner: Self.clientToApp()))
        // Internal request with a MAC that is not the client's.
        Self.expectDrop(
            .spoofed,
            Actors.fromHost(
                hostPA: Self.clientHost, vsid: 5002,
                inner: Self.clientToApp(srcMAC: TestPolicies.mac("00:15:5d:99:99:99"))))
        // Reply claiming to be Blue's VM2 from Red's host of the same CA.
        Self.expectDrop(
            .spoofed, Actors.fromHost(hostPA: TestPolicies.ip("192.168.6.5"), vsid: 5001, inner: Self.vm2Reply()))
        // Reply from a CA without a lookup record.
        let unknown = FrameBuilder.tcp(
            srcMAC: Self.vm2MAC, dstMAC: Actors.blueGateway, src: TestPolicies.ip("10.1.6.99"), dst: Actors.client,
            sport: 80, dport: 40000)
        Self.expectDrop(.spoofed, Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: unknown))
    }

    @Test func noVIPAndNoRule() {
        Self.expectDrop(.noVIP, Actors.external(dst: TestPolicies.ip("131.107.99.99")))
        Self.expectDrop(.noRule, Actors.external(dport: 81))
        Self.expectDrop(
            .noRule, Actors.fromHost(hostPA: Self.clientHost, vsid: 5002, inner: Self.clientToApp(dport: 9090)))
        // A VM's packet that is neither to a VIP nor a reply of any rule.
        Self.expectDrop(.noVIP, Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: Self.vm2Reply(sport: 22)))
    }

    @Test func noBackend() {
        var configuration = TestPolicies.example()
        for index in configuration.loadBalancers[0].backends.indices {
            configuration.loadBalancers[0].backends[index].weight = 0
        }
        Self.expectDrop(.noBackend, Actors.external(), configuration: configuration)
    }

    @Test func noFlow() {
        // Red's DIP answering a CA of its own domain from the port of an external-only rule:
        // the client side contradicts the only rule, so state cannot be rebuilt.
        let redVM = TestPolicies.ip("10.1.6.22")
        let inner = FrameBuilder.tcp(
            srcMAC: TestPolicies.mac("00:15:5d:02:06:22"), dstMAC: TestPolicies.mac("02:4c:42:00:e1:00"), src: redVM,
            dst: TestPolicies.ip("10.1.6.21"), sport: 443, dport: 40000)
        Self.expectDrop(
            .noFlow,
            Actors.fromHost(hostPA: TestPolicies.ip("192.168.6.6"), vsid: 6001, inner: inner))
        // Two frontends reach the same DIP port: ambiguous without state.
        var configuration = TestPolicies.example()
        configuration.loadBalancers[0].frontends.append(.init(vsid: nil, vip: TestPolicies.ip("131.107.10.11")))
        Self.expectDrop(
            .noFlow, Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: Self.vm2Reply()),
            configuration: configuration)
    }

    @Test func tooBig() {
        var configuration = TestPolicies.example()
        configuration.underlay.mtu = 576
        // DF set and no ICMP "fragmentation needed" allowed: dropped.
        configuration.underlay.icmpRate = 0
        Self.expectDrop(
            .tooBig, Actors.external(payload: [UInt8](repeating: 0x61, count: 520)), configuration: configuration)
    }

    @Test func neighborUnresolved() {
        var configuration = TestPolicies.goldenExample()
        configuration.underlay.neighbors = []
        configuration.underlay.gatewayMAC = nil
        Self.expectDrop(.neighborUnresolved, Actors.external(), configuration: configuration)
    }

    @Test func flowTableFullForwardsStatelessly() {
        // A table of one probe window: eight established flows fill it.
        let harness = Harness(TestPolicies.goldenExample(), flowCapacity: FlowTable.probeWindow)
        for port in UInt16(1)...8 {
            #expect(harness.run(Actors.external(sport: port, flags: .syn)).verdict == .forward(.underlay))
            let reply = Actors.fromHost(hostPA: Self.blueHost, vsid: 5001, inner: Self.vm2Reply(dport: port))
            #expect(harness.run(reply).verdict == .forward(.external))
            #expect(harness.run(Actors.external(sport: port, flags: .ack)).verdict == .forward(.underlay))
        }
        let flood = harness.run(Actors.external(sport: 999, flags: .syn))
        #expect(flood.verdict == .forward(.underlay))
        let counters = harness.counters
        #expect(counters[.flowTableFull] == 1)
        #expect(counters.flowsCreated == 8)
        #expect(counters.dropped == 0)
        #expect(counters.packetsIn == counters.packetsOut)
    }

    @Test func everyReasonHasAStableName() {
        #expect(
            DropReason.allCases.map(\.name) == [
                "malformed", "not_for_us", "unsupported", "bad_gre", "reserved_vsid", "unknown_vsid", "inner_vlan",
                "fragment", "spoofed", "no_vip", "no_rule", "no_backend", "no_flow", "flow_table_full", "too_big",
                "neighbor_unresolved",
            ])
    }
}
