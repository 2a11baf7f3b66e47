import NVLBHealth
import NVLBTestSupport
import NVLBWire
import Testing

/// Golden probe frames (docs/health.md): NVGRE in the DIP's VSID from nvlb's PA to the
/// DIP's host, inner from `probe_source` and the domain's gateway MAC to the DIP.
/// Checksums computed independently (RFC 1071 over the bytes below).
@Suite struct ProbeFrameTests {
    @Test func synFrame() throws {
        let syn = ProbeSegment(flags: .syn, sequence: 0x0102_0304, options: [2, 4, 0x05, 0x50])
        let frame = try #require(ProbeFrame.build(syn, to: Fixture.target(), localPort: 32768))
        let expected = hexBytes(
            """
            02 00 00 00 06 04   // outer dst: next hop toward host 1 (static neighbour)
            02 4c 42 00 06 02   // outer src: underlay.mac
            08 00               // IPv4
            45 00 00 56         // v4, IHL 5, TOS 0, total 86
            00 00 40 00         // id 0, DF
            40 2f ad 22         // TTL 64, GRE, checksum
            c0 a8 06 02         // src 192.168.6.2 (underlay.address)
            c0 a8 06 04         // dst 192.168.6.4 (the DIP's host PA)
            20 00 65 58         // GRE: K bit, protocol 0x6558
            00 13 89 00         // key: VSID 5001 << 8 | FlowID 0 (flow_id: zero)
            00 15 5d 01 06 21   // inner dst: the DIP's MAC
            02 4c 42 00 b1 00   // inner src: blue's gateway_mac
            08 00               // IPv4
            45 00 00 2c         // total 44
            00 00 40 00         // id 0, DF
            40 06 19 b8         // TTL 64, TCP, checksum
            0a 01 06 fe         // src 10.1.6.254 (probe_source)
            0a 01 06 15         // dst 10.1.6.21 (the DIP)
            80 00 00 50         // sport 32768, dport 80
            01 02 03 04         // seq
            00 00 00 00         // ack
            60 02 ff ff         // data offset 6, SYN, window 65535
            f3 1f 00 00         // checksum, urgent
            02 04 05 50         // MSS 1360
            """)
        #expect(frame == expected)
        #expect(ParsedFrame(frame)?.checksumsValid == true)
    }

    @Test func httpRequestFrame() throws {
        let request = TCPProbe.httpRequest(path: "/healthz", host: Fixture.dip)
        let segment = ProbeSegment(
            flags: [.psh, .ack], sequence: 0x0102_0305, acknowledgment: 0x0a0b_0c0e, payload: request)
        let frame = try #require(ProbeFrame.build(segment, to: Fixture.target(.http), localPort: 32768))
        let expected =
            hexBytes(
                """
                02 00 00 00 06 04  02 4c 42 00 06 02  08 00
                45 00 00 a7         // total 167
                00 00 40 00
                40 2f ac d1         // TTL 64, GRE, checksum
                c0 a8 06 02  c0 a8 06 04
                20 00 65 58  00 13 89 00
                00 15 5d 01 06 21  02 4c 42 00 b1 00  08 00
                45 00 00 7d         // total 125
                00 00 40 00
                40 06 19 67         // TTL 64, TCP, checksum
                0a 01 06 fe  0a 01 06 15
                80 00 00 50         // sport 32768, dport 80
                01 02 03 05         // seq: ISS + 1
                0a 0b 0c 0e         // ack: the DIP's ISS + 1
                50 18 ff ff         // data offset 5, PSH|ACK, window 65535
                7f 64 00 00         // checksum, urgent
                """)
            + Array(
                "GET /healthz HTTP/1.1\r\nHost: 10.1.6.21\r\nUser-Agent: nvlb-probe\r\nConnection: close\r\n\r\n".utf8)
        #expect(frame == expected)
        #expect(ParsedFrame(frame)?.checksumsValid == true)
    }

    @Test func flowIDIsAHashWhenConfigured() throws {
        var target = Fixture.target()
        target.addressing.flowIDSeed = 0x6e76_6c62
        var flowIDs: Set<UInt8> = []
        for port in UInt16(32768)..<32800 {
            let frame = try #require(
                ProbeFrame.build(ProbeSegment(flags: .syn, sequence: 1), to: target, localPort: port))
            #expect(ParsedFrame(frame)?.gre?.vsid == 5001)
            flowIDs.insert(frame[41])  // low byte of the GRE key
        }
        #expect(flowIDs.count > 8, "FlowID follows the inner 5-tuple")
    }

    @Test func noNextHopNoFrame() {
        #expect(
            ProbeFrame.build(ProbeSegment(flags: .syn, sequence: 1), to: Fixture.target(nextHop: nil), localPort: 1)
                == nil)
    }

    @Test func replyParses() throws {
        let syn = try #require(
            ProbeFrame.build(ProbeSegment(flags: .syn, sequence: 7), to: Fixture.target(), localPort: 40000))
        let reply = try #require(ProbeFrame.parse(Fixture.answer(to: syn, flags: [.syn, .ack], seq: 99)))
        #expect(reply.vsid == 5001 && reply.source == Fixture.dip && reply.destination == Fixture.probeSource)
        #expect(reply.sourcePort == 80 && reply.destinationPort == 40000)
        #expect(reply.segment == ProbeSegment(flags: [.syn, .ack], sequence: 99, acknowledgment: 8))
        #expect(ProbeFrame.parse([1, 2, 3]) == nil)
        #expect(ProbeFrame.parse(Array(syn.prefix(60))) == nil, "cut inside the inner TCP header")
    }
}
