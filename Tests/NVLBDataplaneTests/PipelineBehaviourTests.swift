import NVLBBalancing
import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// The behaviour of docs/packets.md and docs/architecture.md through the whole pipeline with the example policy:
/// UDP, ARP, outer header fields, FlowID, outer IP options, padding, counters and
/// backend selection (weights, distribution, determinism).
@Suite struct PipelineBehaviourTests {
    static let vm1 = TestPolicies.ip("10.1.6.20")
    static let vm2 = TestPolicies.ip("10.1.6.21")

    // MARK: UDP (docs/packets.md "Packet paths")

    @Test(arguments: [false, true])
    func udpRequestAndReply(zeroChecksum: Bool) throws {
        let harness = Harness(TestPolicies.example())
        let payload: [UInt8] = Array("query for example.com".utf8)
        let request = harness.run(Traffic.externalUDP(payload: payload, zeroChecksum: zeroChecksum))
        #expect(request.verdict == .forward(.underlay))
        let out = try #require(ParsedFrame(request.output))
        #expect(out.checksumsValid)
        let udp = try #require(out.inner?.udp)
        #expect(udp.destinationPort == 5353)
        #expect(udp.sourcePort == 40000)
        #expect(udp.payload == payload)
        #expect(out.inner?.ipv4?.source == Actors.client)
        #expect([Self.vm1, Self.vm2].contains(out.inner?.ipv4?.destination ?? .init(rawValue: 0)))
        #expect(out.gre?.vsid == 5001)
        if zeroChecksum { #expect(udp.checksum == 0, "a UDP checksum of 0 stays 0 (request)") }

        let answer: [UInt8] = Array("answer".utf8)
        let replyFrame = try #require(Traffic.reply(to: request.output, payload: answer, zeroChecksum: zeroChecksum))
        let reply = harness.run(replyFrame)
        #expect(reply.verdict == .forward(.external))
        let back = try #require(ParsedFrame(reply.output))
        #expect(back.checksumsValid)
        #expect(back.destination == Actors.routerMAC)
        #expect(back.source == Actors.externalMAC)
        #expect(back.ipv4?.source == Actors.blueVIP)
        #expect(back.ipv4?.destination == Actors.client)
        let udpBack = try #require(back.udp)
        #expect(udpBack.sourcePort == 53)
        #expect(udpBack.destinationPort == 40000)
        #expect(udpBack.payload == answer)
        if zeroChecksum {
            #expect(udpBack.checksum == 0, "a UDP checksum of 0 stays 0 (reply)")
        } else {
            #expect(udpBack.checksum != 0)
        }
        #expect(harness.counters.flowsCreated == 1)
    }

    // MARK: ARP (docs/packets.md "ARP and next hops")

    /// (who asks, its MAC, target, expected MAC, expected port)
    static let arpCases: [(IPv4Address, MACAddress, IPv4Address, MACAddress, Port)] = [
        (TestPolicies.ip("192.168.6.4"), Actors.host1MAC, Actors.lbPA, Actors.lbMAC, .underlay),
        (TestPolicies.ip("131.107.10.1"), Actors.routerMAC, Actors.blueVIP, Actors.externalMAC, .external),
        (TestPolicies.ip("131.107.20.1"), Actors.routerMAC, Actors.redVIP, Actors.externalMAC, .external),
    ]

    @Test(arguments: arpCases, [false, true])
    func arpRequestIsAnswered(_ c: (IPv4Address, MACAddress, IPv4Address, MACAddress, Port), padded: Bool) throws {
        let (askerIP, askerMAC, target, expectedMAC, port) = c
        let harness = Harness(TestPolicies.example())
        var request = FrameBuilder.arpRequest(senderMAC: askerMAC, senderIP: askerIP, targetIP: target)
        if padded { request = FrameBuilder.padded(request) }
        let result = harness.run(request)
        #expect(result.verdict == .answer(port))
        #expect(result.output.count == EthernetHeader.size + ARPHeader.size)
        let frame = try #require(ParsedFrame(result.output))
        #expect(frame.destination == askerMAC)
        #expect(frame.source == expectedMAC)
        #expect(frame.vlan == nil)
        #expect(frame.etherType == EthernetHeader.etherTypeARP)
        let arp = try #require(frame.arp)
        #expect(arp.hardwareType == 1)
        #expect(arp.protocolType == 0x0800)
        #expect(arp.hardwareLength == 6)
        #expect(arp.protocolLength == 4)
        #expect(arp.operation == ARPHeader.operationReply)
        #expect(arp.senderMAC == expectedMAC)
        #expect(arp.senderIP == target)
        #expect(arp.targetMAC == askerMAC)
        #expect(arp.targetIP == askerIP)
        let counters = harness.counters
        #expect(counters.answered == 1 && counters.packetsIn == 1 && counters.dropped == 0)
    }

    @Test(arguments: [
        TestPolicies.ip("192.168.6.99"),  // nobody's
        TestPolicies.ip("192.168.6.4"),  // a Hyper-V host's PA
        TestPolicies.ip("10.1.5.100"),  // an internal (CA) VIP: never answered on the wire
        TestPolicies.ip("10.1.6.21"),  // a DIP's CA
    ])
    func arpRequestForAnAddressNotOwnedIsNotForUs(_ target: IPv4Address) {
        let harness = Harness(TestPolicies.example())
        let request = FrameBuilder.arpRequest(
            senderMAC: Actors.host1MAC, senderIP: TestPolicies.ip("192.168.6.4"), targetIP: target)
        #expect(harness.run(request).verdict == .drop(.notForUs))
        #expect(harness.counters[.notForUs] == 1)
    }

    @Test func arpReplyIsNotForUsAndTeachesNothingOffline() throws {
        var configuration = TestPolicies.example()
        configuration.loadBalancers[0].backends = [.init(vsid: 5001, ca: Self.vm1)]  // on host 192.168.6.3
        let harness = Harness(configuration)
        let learnedMAC = TestPolicies.mac("02:00:00:00:06:03")
        let reply = FrameBuilder.arpReply(
            senderMAC: learnedMAC, senderIP: TestPolicies.ip("192.168.6.3"), targetMAC: Actors.lbMAC,
            targetIP: Actors.lbPA)
        #expect(harness.run(reply).verdict == .drop(.notForUs))
        // Offline: the next hop of 192.168.6.3 is still underlay.gateway_mac.
        let request = harness.run(Actors.external())
        #expect(request.verdict == .forward(.underlay))
        let out = try #require(ParsedFrame(request.output))
        #expect(out.destination == TestPolicies.mac("02:00:00:00:06:01"))
        #expect(out.ipv4?.destination == TestPolicies.ip("192.168.6.3"))
    }

    // MARK: Outer header (docs/packets.md "What nvlb sends")

    enum NVGREPath: CaseIterable { case externalRequest, internalRequest, internalReply }

    /// A frame of `path` with inner TOS `tos` and inner TTL 50, and nvlb's NVGRE output for it.
    static func emit(_ path: NVGREPath, tos: UInt8, harness: Harness, sport: UInt16 = 40000) -> [UInt8] {
        let client = TenantVM.exampleClient
        switch path {
        case .externalRequest:
            let frame = FrameBuilder.tcp(
                srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client, dst: Actors.blueVIP,
                sport: sport, dport: 80, flags: .syn, ip: .init(tos: tos, ttl: 50))
            return harness.run(frame).output
        case .internalRequest:
            let inner = FrameBuilder.tcp(
                srcMAC: client.mac, dstMAC: Actors.blueGateway, src: client.ca, dst: Actors.appVIP, sport: sport,
                dport: 8080, flags: .syn, ip: .init(tos: tos, ttl: 50))
            return harness.run(Actors.fromHost(hostPA: client.pa, vsid: 5002, inner: inner)).output
        case .internalReply:
            let request = harness.run(client.tcp(to: Actors.appVIP, sport: sport, dport: 8080)).output
            guard let d = Traffic.delivery(request) else { return [] }
            let inner = FrameBuilder.tcp(
                srcMAC: d.dipMAC, dstMAC: d.gatewayMAC, src: d.dip, dst: d.client, sport: d.backendPort,
                dport: d.clientPort, flags: [.syn, .ack], ip: .init(tos: tos, ttl: 50))
            return harness.run(Actors.fromHost(hostPA: d.pa, vsid: d.vsid, inner: inner)).output
        }
    }

    @Test(arguments: NVGREPath.allCases, [UInt8(0x00), 0x28, 0xb8, 0xff])
    func outerHeaderFields(_ path: NVGREPath, tos: UInt8) throws {
        var configuration = TestPolicies.example()
        configuration.underlay.ttl = 17
        let harness = Harness(configuration)
        let out = try #require(ParsedFrame(Self.emit(path, tos: tos, harness: harness)))
        #expect(out.source == Actors.lbMAC)
        #expect(out.etherType == EthernetHeader.etherTypeIPv4)
        let outer = try #require(out.ipv4)
        #expect(outer.version == 4 && outer.ihl == 5)
        #expect(outer.tos == tos, "TOS copied from the inner packet")
        #expect(outer.ttl == 17, "outer TTL = underlay.ttl")
        #expect(outer.dontFragment && !outer.moreFragments && outer.fragmentOffset == 0)
        #expect(outer.protocolNumber == 47)
        #expect(outer.source == Actors.lbPA)
        #expect(outer.headerChecksumValid)
        let innerLength = EthernetHeader.size + Int(out.inner?.ipv4?.totalLength ?? 0)
        #expect(Int(outer.totalLength) == IPv4Header.minimumSize + GREHeader.size + innerLength)
        #expect(out.trailer.isEmpty)
        let gre = try #require(out.gre)
        #expect(gre.flagsVersion == 0x2000 && gre.protocolType == 0x6558)
        let inner = try #require(out.inner?.ipv4)
        #expect(inner.ttl == 50, "the inner TTL is not changed")
        #expect(inner.tos == tos)
        #expect(out.checksumsValid)
    }

    @Test func defaultOuterTTLIs64() throws {
        let harness = Harness(TestPolicies.example())
        let out = try #require(ParsedFrame(harness.run(Actors.external()).output))
        #expect(out.ipv4?.ttl == 64)
    }

    // MARK: FlowID (docs/packets.md "What nvlb sends")

    @Test(arguments: NVGREPath.allCases)
    func flowIDHashIsStablePerFlowAndSpreads(_ path: NVGREPath) throws {
        let (configuration, _) = TestPolicies.exampleWithClients(0)
        let first = Harness(configuration, flowCapacity: 4096)
        let second = Harness(configuration, flowCapacity: 4096)
        var seen = Set<UInt8>()
        for i in 0..<400 {
            let sport = UInt16(20_000 + i)
            let a = try #require(Traffic.delivery(Self.emit(path, tos: 0, harness: first, sport: sport)))
            let again = try #require(Traffic.delivery(Self.emit(path, tos: 0, harness: first, sport: sport)))
            let b = try #require(Traffic.delivery(Self.emit(path, tos: 0x28, harness: second, sport: sport)))
            #expect(a.flowID == again.flowID, "same flow, same FlowID")
            #expect(a.flowID == b.flowID, "same flow on another worker, same FlowID")
            seen.insert(a.flowID)
        }
        // 400 flows over 256 values: ~220 distinct expected.
        #expect(seen.count >= 150)
    }

    @Test(arguments: NVGREPath.allCases)
    func flowIDZeroIsAlwaysZero(_ path: NVGREPath) throws {
        let harness = Harness(TestPolicies.example(flowID: .zero), flowCapacity: 4096)
        for i in 0..<200 {
            let d = try #require(Traffic.delivery(Self.emit(path, tos: 0, harness: harness, sport: UInt16(30_000 + i))))
            #expect(d.flowID == 0)
        }
    }

    // MARK: Outer IP options and Ethernet padding (docs/packets.md "What nvlb accepts")

    static func options(_ count: Int) -> [UInt8] {
        // Router Alert (RFC 2113) then NOPs and an end-of-list.
        ([0x94, 0x04, 0x00, 0x00] + [UInt8](repeating: 0x01, count: max(0, count - 5)) + [0x00]).prefix(count).map {
            $0
        }
    }

    @Test(arguments: [4, 8, 12, 40])
    func outerIPOptionsAreSkipped(optionBytes: Int) throws {
        let harness = Harness(TestPolicies.goldenExample())
        let requestInner = Array(GoldenFrames.internalRequestIn[42...])
        let request = Traffic.nvgre(
            inner: requestInner, hostPA: TestPolicies.ip("192.168.6.7"), vsid: 5002,
            options: Self.options(optionBytes))
        #expect(ParsedFrame(request)?.ipv4?.ihl == UInt8(5 + optionBytes / 4))
        let forwarded = harness.run(request)
        #expect(forwarded.verdict == .forward(.underlay))
        #expect(forwarded.output == GoldenFrames.internalRequestOut)

        let replyInner = Array(GoldenFrames.internalReplyIn[42...])
        let reply = Traffic.nvgre(
            inner: replyInner, hostPA: TestPolicies.ip("192.168.6.4"), vsid: 5001, options: Self.options(optionBytes))
        let back = harness.run(reply)
        #expect(back.verdict == .forward(.underlay))
        #expect(back.output == GoldenFrames.internalReplyOut)

        let externalReply = Traffic.nvgre(
            inner: Array(GoldenFrames.externalReplyIn[42...]), hostPA: TestPolicies.ip("192.168.6.4"), vsid: 5001,
            options: Self.options(optionBytes))
        let plain = harness.run(externalReply)
        #expect(plain.verdict == .forward(.external))
        #expect(plain.output == GoldenFrames.externalReplyOut)
    }

    enum GoldenKind: CaseIterable { case externalRequest, externalReply, internalRequest, internalReply }

    /// The golden input with its (inner) Ethernet frame padded to 60 bytes, and the golden output.
    static func padded(_ kind: GoldenKind) -> (input: [UInt8], output: [UInt8]) {
        func repadNVGRE(_ frame: [UInt8], hostPA: String, vsid: UInt32) -> [UInt8] {
            Actors.fromHost(
                hostPA: TestPolicies.ip(hostPA), vsid: vsid, inner: FrameBuilder.padded(Array(frame[42...])))
        }
        switch kind {
        case .externalRequest:
            return (FrameBuilder.padded(GoldenFrames.externalRequestIn), GoldenFrames.externalRequestOut)
        case .externalReply:
            return (
                repadNVGRE(GoldenFrames.externalReplyIn, hostPA: "192.168.6.4", vsid: 5001),
                GoldenFrames.externalReplyOut
            )
        case .internalRequest:
            return (
                repadNVGRE(GoldenFrames.internalRequestIn, hostPA: "192.168.6.7", vsid: 5002),
                GoldenFrames.internalRequestOut
            )
        case .internalReply:
            return (
                repadNVGRE(GoldenFrames.internalReplyIn, hostPA: "192.168.6.4", vsid: 5001),
                GoldenFrames.internalReplyOut
            )
        }
    }

    @Test(arguments: GoldenKind.allCases)
    func ethernetPaddingIsTrimmedToTheIPv4Length(_ kind: GoldenKind) throws {
        let (input, expected) = Self.padded(kind)
        #expect(input.count == (kind == .externalRequest ? 60 : 42 + 60), "the (inner) frame is padded")
        let harness = Harness(TestPolicies.goldenExample())
        let result = harness.run(input)
        #expect(result.output == expected)
        #expect(try #require(ParsedFrame(result.output)).trailer.isEmpty)
        #expect(ParsedFrame(result.output)?.inner?.trailer.isEmpty ?? true)
    }

    // MARK: Counters and backend selection (docs/architecture.md "Backend selection", docs/statistics.md)

    @Test func perDIPCountersMatchTheForwardedFrames() throws {
        let (configuration, clients) = TestPolicies.exampleWithClients(10)
        let harness = Harness(configuration, flowCapacity: 4096)
        var expected: [String: [String: UInt64]] = [:]
        func tally(_ lb: String, _ output: [UInt8]) throws {
            let d = try #require(Traffic.delivery(output))
            expected[lb, default: [:]]["\(d.vsid)/\(d.dip)", default: 0] += 1
        }
        for i in 0..<300 {
            let out = harness.run(Actors.external(sport: UInt16(10_000 + i))).output
            try tally("blue-web", out)
            // Replies go to clients: not counted per DIP.
            _ = harness.run(try #require(Traffic.reply(to: out)))
        }
        for i in 0..<60 {
            try tally(
                "red-web",
                harness.run(Actors.external(dst: Actors.redVIP, sport: UInt16(10_000 + i), dport: 443)).output)
        }
        for (k, client) in clients.enumerated() {
            for j in 0..<5 {
                try tally(
                    "blue-app",
                    harness.run(client.tcp(to: Actors.appVIP, sport: UInt16(k * 10 + j + 1000), dport: 8080)).output)
            }
        }
        let counters = harness.counters
        // Zero entries may be present for DIPs that got nothing.
        let actual = counters.backends.mapValues { $0.filter { $0.value > 0 } }
        #expect(actual == expected)
        #expect(counters.packetsOut == 300 * 2 + 60 + UInt64(clients.count * 5))
        #expect(expected["blue-web"]?.count == 2 && expected["red-web"]?.count == 2)
    }

    /// A copy of `frame` (an external TCP frame) from another client address/port; the
    /// pipeline does not verify checksums, so patching the bytes suffices to make flows.
    static func patched(_ frame: [UInt8], client: UInt32, port: UInt16) -> [UInt8] {
        var copy = frame
        copy[26] = UInt8(client >> 24)
        copy[27] = UInt8(client >> 16 & 0xff)
        copy[28] = UInt8(client >> 8 & 0xff)
        copy[29] = UInt8(client & 0xff)
        copy[34] = UInt8(port >> 8)
        copy[35] = UInt8(port & 0xff)
        return copy
    }

    @Test func weightsShareTheFlows() {
        // blue-web: 10.1.6.20 weight 1, 10.1.6.21 weight 2.
        let harness = Harness(TestPolicies.example())
        let template = Actors.external()
        let flows = 30_000
        for i in 0..<flows {
            let verdict = harness.run(
                Self.patched(template, client: 0xc612_0000 + UInt32(i / 7), port: UInt16(1024 + (i % 7) * 9000))
            )
            .verdict
            #expect(verdict == .forward(.underlay))
        }
        let dips = harness.counters.backends["blue-web"] ?? [:]
        let heavy = Double(dips["5001/10.1.6.21"] ?? 0)
        let light = Double(dips["5001/10.1.6.20"] ?? 0)
        #expect(heavy + light == Double(flows))
        let share = heavy / Double(flows)
        #expect(abs(share - 2.0 / 3.0) <= 0.02, "share of the weight-2 DIP: \(share)")
    }

    @Test func sourceIPDistributionKeepsAClientOnOneDIP() throws {
        let (configuration, clients) = TestPolicies.exampleWithClients(40)
        let harness = Harness(configuration, flowCapacity: 4096)
        var used = Set<IPv4Address>()
        for client in clients {
            var dips = Set<IPv4Address>()
            for port in stride(from: UInt16(1024), to: 65_000, by: 2_111) {
                let out = harness.run(client.tcp(to: Actors.appVIP, sport: port, dport: 8080)).output
                dips.insert(try #require(Traffic.delivery(out)).dip)
            }
            #expect(dips.count == 1, "client \(client.ca) spread over \(dips)")
            used.formUnion(dips)
        }
        #expect(used == [Self.vm1, Self.vm2], "41 clients over 2 equal DIPs use both")
    }

    /// The DIP chosen for a mix of external and internal flows, by a fresh worker.
    static func choices(_ configuration: PolicyConfiguration, clients: [TenantVM]) throws -> [IPv4Address] {
        let harness = Harness(configuration, flowCapacity: 4096)
        var result: [IPv4Address] = []
        for i in 0..<400 {
            let out = harness.run(
                Actors.external(sport: UInt16(5000 + i), src: IPv4Address(rawValue: 0xc633_6400 + UInt32(i)))
            ).output
            result.append(try #require(Traffic.delivery(out)).dip)
        }
        for i in 0..<100 {
            let out = harness.run(Actors.external(dst: Actors.redVIP, sport: UInt16(7000 + i), dport: 443)).output
            result.append(try #require(Traffic.delivery(out)).dip)
        }
        for client in clients {
            let out = harness.run(client.tcp(to: Actors.appVIP, sport: 33_000, dport: 8080)).output
            result.append(try #require(Traffic.delivery(out)).dip)
        }
        return result
    }

    @Test func selectionIsDeterministicAcrossWorkersAndBackendOrder() throws {
        let (configuration, clients) = TestPolicies.exampleWithClients(40)
        let reference = try Self.choices(configuration, clients: clients)
        #expect(Set(reference).count >= 3, "the mix reaches several DIPs")
        // A second worker with its own snapshot of the same configuration.
        #expect(try Self.choices(configuration, clients: clients) == reference)
        // The same policy with every backend list reordered.
        var reversed = configuration
        for index in reversed.loadBalancers.indices { reversed.loadBalancers[index].backends.reverse() }
        #expect(try Self.choices(reversed, clients: clients) == reference)
        var rng = SplitMix64(seed: 42)
        for _ in 0..<3 {
            var shuffled = configuration
            for index in shuffled.loadBalancers.indices { shuffled.loadBalancers[index].backends.shuffle(using: &rng) }
            #expect(try Self.choices(shuffled, clients: clients) == reference)
        }
    }

    // MARK: Flow table pressure through the pipeline (docs/architecture.md "Flow timeouts and eviction")

    /// Opens a TCP flow from `port` through the handshake (SYN, the DIP's SYN-ACK, ACK).
    static func establish(_ harness: Harness, port: UInt16) throws -> Traffic.Delivery {
        let syn = harness.run(Actors.external(sport: port, flags: .syn)).output
        let reply = try #require(Traffic.reply(to: syn, flags: [.syn, .ack]))
        #expect(harness.run(reply).verdict == .forward(.external))
        #expect(harness.run(Actors.external(sport: port, flags: .ack)).verdict == .forward(.underlay))
        return try #require(Traffic.delivery(syn))
    }

    @Test func fullTableForwardsStatelesslyAndCountsIt() throws {
        // 8 slots = one probe window: 8 established flows fill it.
        let harness = Harness(TestPolicies.example(), flowCapacity: FlowTable.probeWindow)
        for port in UInt16(1000)..<1008 { _ = try Self.establish(harness, port: port) }
        #expect(harness.counters.flowsCreated == 8)

        let fresh = Harness(TestPolicies.example())
        let request = harness.run(Actors.external(sport: 2000, flags: .syn))
        #expect(request.verdict == .forward(.underlay), "forwarded without state")
        #expect(request.output == fresh.run(Actors.external(sport: 2000, flags: .syn)).output, "by the Maglev choice")
        // Its reply has no state either: rebuilt from policy, still no room.
        let reply = harness.run(try #require(Traffic.reply(to: request.output)))
        #expect(reply.verdict == .forward(.external))
        let counters = harness.counters
        #expect(counters[.flowTableFull] == 2)
        #expect(counters.dropped == 0, "flow_table_full is counted, not dropped")
        #expect(counters.flowsCreated == 8)
        #expect(harness.accountingBalances)
        // The established flows are all still there.
        for port in UInt16(1000)..<1008 {
            #expect(harness.run(Actors.external(sport: port, flags: .ack)).verdict == .forward(.underlay))
        }
        #expect(harness.counters.flowsCreated == 8)
    }

    @Test func synFloodThroughThePipelineKeepsEstablishedFlows() throws {
        let harness = Harness(TestPolicies.example(), flowCapacity: 64)
        var established: [UInt16: Traffic.Delivery] = [:]
        for port in UInt16(1000)..<1016 { established[port] = try Self.establish(harness, port: port) }
        let created = harness.counters.flowsCreated
        #expect(created == 16)
        let template = Actors.external(flags: .syn)
        for i in 0..<5000 {
            let flood = Self.patched(template, client: 0xc000_0200 + UInt32(i % 251), port: UInt16(2000 + i))
            #expect(harness.run(flood, now: 1000 + UInt32(i / 500)).verdict == .forward(.underlay))
        }
        let afterFlood = harness.counters.flowsCreated
        for (port, delivery) in established {
            let out = harness.run(Actors.external(sport: port, flags: .ack), now: 1010).output
            #expect(Traffic.delivery(out)?.dip == delivery.dip)
        }
        #expect(harness.counters.flowsCreated == afterFlood, "every established flow was found in the table")
        #expect(harness.counters.dropped == 0)
    }
}
