import NVLBBalancing
import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import PropertyBased
import Testing

/// Every frame nvlb emits carries correct checksums at every layer (docs/packets.md "Header rewriting and checksums": RFC 1624
/// incremental updates of inner IPv4 and TCP/UDP, a fresh outer IPv4 checksum).
@Suite struct ChecksumPropertyTests {
    static let setup = TestPolicies.exampleWithClients(20)

    /// Checks one emitted frame; `nvgre` tells whether it must be encapsulated.
    static func expectValid(
        _ output: [UInt8], nvgre: Bool, protocolNumber: UInt8, payload: [UInt8], tos: UInt8, zeroChecksum: Bool,
        _ what: String
    ) {
        guard let frame = ParsedFrame(output) else {
            Issue.record("\(what): the emitted frame does not parse: \(output.count) bytes")
            return
        }
        #expect(frame.checksumsValid, "\(what)")
        let ip: ParsedIPv4?
        if nvgre {
            #expect(frame.ipv4?.headerChecksumValid == true, "\(what): outer IPv4")
            ip = frame.inner?.ipv4
        } else {
            #expect(frame.gre == nil, "\(what): plain IPv4 expected")
            ip = frame.ipv4
        }
        guard let ip else {
            Issue.record("\(what): no (inner) IPv4")
            return
        }
        #expect(ip.headerChecksumValid, "\(what): inner IPv4")
        #expect(ip.tos == tos, "\(what): TOS")
        if protocolNumber == 6 {
            #expect(ip.tcp?.checksumValid == true, "\(what): TCP")
            #expect(ip.tcp?.payload == payload, "\(what): TCP payload")
        } else {
            #expect(ip.udp?.checksumValid == true, "\(what): UDP")
            #expect(ip.udp?.payload == payload, "\(what): UDP payload")
            if zeroChecksum { #expect(ip.udp?.checksum == 0, "\(what): UDP checksum 0 stays 0") }
            if !zeroChecksum { #expect(ip.udp?.checksum != 0, "\(what): UDP checksum must not become 0 (none)") }
        }
    }

    @Test func everyEmittedFrameHasValidChecksums() async {
        let (configuration, clients) = Self.setup
        // One worker for every case (compiling a snapshot costs more than a case); each
        // case is a new flow from a random client address or port.
        let harness = Harness(configuration, flowCapacity: 4096)
        await propertyCheck(
            count: 400,
            input: Gen.bool(), Gen.bool(), Gen.int(in: 0...1400), Gen.uint8(), Gen.uint16(in: 1...65_535),
            Gen.uint64()
        ) { external, tcp, payloadSize, tos, clientPort, seed in
            var rng = SplitMix64(seed: seed)
            let payload = (0..<payloadSize).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let zeroChecksum = !tcp && Bool.random(using: &rng)
            let protocolNumber: UInt8 = tcp ? 6 : 17
            let request: [UInt8]
            if external {
                // Any public client address (not a VIP).
                let client = IPv4Address(rawValue: UInt32.random(in: 0x0100_0000...0xdfff_ffff, using: &rng))
                if tcp {
                    request = FrameBuilder.tcp(
                        srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: client, dst: Actors.blueVIP,
                        sport: clientPort, dport: 80, flags: [.ack, .psh],
                        seq: UInt32.random(in: 0...UInt32.max, using: &rng),
                        payload: payload,
                        ip: .init(tos: tos, identification: UInt16.random(in: 0...65_535, using: &rng)))
                } else {
                    request = Traffic.externalUDP(
                        src: client, sport: clientPort, payload: payload, zeroChecksum: zeroChecksum, tos: tos)
                }
            } else {
                let client = clients.randomElement(using: &rng)!
                request =
                    tcp
                    ? client.tcp(
                        to: Actors.appVIP, sport: clientPort, dport: 8080, flags: [.ack, .psh], payload: payload,
                        tos: tos)
                    : client.udp(
                        to: Actors.appVIP, sport: clientPort, dport: 5300, payload: payload, zeroChecksum: zeroChecksum,
                        tos: tos)
            }
            let forwarded = harness.run(request)
            #expect(forwarded.verdict == .forward(.underlay))
            Self.expectValid(
                forwarded.output, nvgre: true, protocolNumber: protocolNumber, payload: payload, tos: tos,
                zeroChecksum: zeroChecksum, "request")

            let replyPayload = (0..<Int.random(in: 0...1400, using: &rng)).map { _ in
                UInt8.random(in: 0...255, using: &rng)
            }
            let replyTOS = UInt8.random(in: 0...255, using: &rng)
            guard
                let reply = Traffic.reply(
                    to: forwarded.output, flags: [.ack, .psh], payload: replyPayload, tos: replyTOS,
                    zeroChecksum: zeroChecksum)
            else {
                Issue.record("request output has no delivery")
                return
            }
            let back = harness.run(reply)
            #expect(back.verdict == .forward(external ? .external : .underlay))
            Self.expectValid(
                back.output, nvgre: !external, protocolNumber: protocolNumber, payload: replyPayload, tos: replyTOS,
                zeroChecksum: zeroChecksum, "reply")
        }
    }

    /// A 2-byte UDP payload that makes the datagram `src:sport → dst:dport` sum to
    /// 0xFFFF, so that its computed checksum is 0 and must be sent as 0xFFFF (RFC 768).
    static func edgePayload(src: IPv4Address, dst: IPv4Address, sport: UInt16, dport: UInt16) -> [UInt8] {
        let words: [UInt32] = [
            src.rawValue >> 16, src.rawValue & 0xffff, dst.rawValue >> 16, dst.rawValue & 0xffff, 17, 10,
            UInt32(sport), UInt32(dport), 10,
        ]
        var sum = words.reduce(0, +)
        while sum > 0xffff { sum = (sum & 0xffff) + (sum >> 16) }
        let word = UInt16(truncatingIfNeeded: ~sum)
        return [UInt8(word >> 8), UInt8(word & 0xff)]
    }

    enum Edge: CaseIterable { case requestIn, requestOut, replyIn, replyOut }

    /// Incremental updates are where 0x0000 and 0xFFFF go wrong: UDP datagrams whose
    /// checksum is 0xFFFF (computed 0) before or after the rewrite, in both directions.
    @Test(arguments: Edge.allCases)
    func udpChecksumEdges(_ edge: Edge) throws {
        let harness = Harness(TestPolicies.goldenExample())  // Blue's DIP: 10.1.6.21
        let dip = TestPolicies.ip("10.1.6.21")
        let neutral: [UInt8] = [0x12, 0x34]
        let requestPayload: [UInt8] =
            switch edge {
            case .requestIn: Self.edgePayload(src: Actors.client, dst: Actors.blueVIP, sport: 40000, dport: 53)
            case .requestOut: Self.edgePayload(src: Actors.client, dst: dip, sport: 40000, dport: 5353)
            default: neutral
            }
        let request = Traffic.externalUDP(payload: requestPayload)
        if edge == .requestIn { #expect(ParsedFrame(request)?.udp?.checksum == 0xffff) }
        let out = harness.run(request).output
        let udp = try #require(ParsedFrame(out)?.inner?.udp)
        #expect(udp.checksumValid == true)
        #expect(udp.checksum != 0, "a computed 0 is sent as 0xFFFF, never as 0 (no checksum)")
        if edge == .requestOut { #expect(udp.checksum == 0xffff) }

        let replyPayload: [UInt8] =
            switch edge {
            case .replyIn: Self.edgePayload(src: dip, dst: Actors.client, sport: 5353, dport: 40000)
            case .replyOut: Self.edgePayload(src: Actors.blueVIP, dst: Actors.client, sport: 53, dport: 40000)
            default: neutral
            }
        let reply = try #require(Traffic.reply(to: out, payload: replyPayload))
        if edge == .replyIn { #expect(ParsedFrame(reply)?.inner?.udp?.checksum == 0xffff) }
        let back = try #require(ParsedFrame(harness.run(reply).output)?.udp)
        #expect(back.checksumValid == true)
        #expect(back.checksum != 0, "a computed 0 is sent as 0xFFFF, never as 0 (no checksum)")
        if edge == .replyOut { #expect(back.checksum == 0xffff) }
    }
}
