import NVLBWire
import Testing

/// Addresses of the example of docs/packets.md "External client to public VIP" (the HNV gateway guide's generated header).
enum Example {
    static let lbMAC = mac("02:4c:42:00:06:02")  // MACLB
    static let hostMAC = mac("02:00:00:00:06:04")  // MACH1
    static let lbPA = ip("192.168.6.2")
    static let hostPA = ip("192.168.6.4")
    static let gatewayMAC = mac("02:4c:42:00:b1:00")  // MACext
    static let vmMAC = mac("00:15:5d:01:06:21")  // MACVM2
    static let client = ip("203.0.113.7")
    static let dip = ip("10.1.6.21")
}

/// Every frame kind the builder makes, for round-trip, truncation and fuzz tests.
enum FrameKind: String, CaseIterable, Sendable {
    case tcp, tcpWithOptions, ipv4WithOptions, vlanTCP, udp, udpZeroChecksum, udpEmpty
    case arpRequest, arpReply, firstFragment, nonFirstFragment, icmp, nvgreTCP, nvgreUDP, nvgreARP

    var frame: [UInt8] {
        let e = Example.self
        switch self {
        case .tcp:
            return FrameBuilder.tcp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 49152, dport: 80,
                flags: [.psh, .ack], seq: 7, ack: 9, payload: Array("GET / HTTP/1.1\r\n".utf8))
        case .tcpWithOptions:
            return FrameBuilder.tcp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 1, dport: 443,
                flags: .syn, seq: 0xFFFF_FFFF, tcpOptions: [0x02, 0x04, 0x05, 0xB4, 0x01, 0x03, 0x03])
        case .ipv4WithOptions:
            return FrameBuilder.tcp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 2, dport: 80,
                payload: [1, 2, 3], ip: .init(tos: 0x10, ttl: 3, identification: 77, options: [0x94, 0x04, 0, 0, 0x01]))
        case .vlanTCP:
            return FrameBuilder.tcp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 3, dport: 80, flags: .fin,
                vlanID: 42)
        case .udp:
            return FrameBuilder.udp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 5353, dport: 53,
                payload: [0xde, 0xad, 0xbe, 0xef, 0x01])
        case .udpZeroChecksum:
            return FrameBuilder.udp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 5353, dport: 53,
                payload: [9, 9], zeroChecksum: true)
        case .udpEmpty:
            return FrameBuilder.udp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 1, dport: 2)
        case .arpRequest:
            return FrameBuilder.arpRequest(senderMAC: e.hostMAC, senderIP: e.hostPA, targetIP: e.lbPA)
        case .arpReply:
            return FrameBuilder.arpReply(
                senderMAC: e.lbMAC, senderIP: e.lbPA, targetMAC: e.hostMAC, targetIP: e.hostPA)
        case .firstFragment:
            return FrameBuilder.udp(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, sport: 5353, dport: 53,
                payload: [UInt8](repeating: 7, count: 16),
                ip: .init(identification: 0x4242, dontFragment: false, moreFragments: true))
        case .nonFirstFragment:
            return FrameBuilder.ipv4(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, protocolNumber: 17,
                payload: [UInt8](repeating: 8, count: 24),
                ip: .init(identification: 0x4242, dontFragment: false, fragmentOffset: 3))
        case .icmp:
            return FrameBuilder.ipv4(
                srcMAC: e.gatewayMAC, dstMAC: e.vmMAC, src: e.client, dst: e.dip, protocolNumber: 1,
                payload: [8, 0, 0xF7, 0xFF, 0, 0, 0, 0])
        case .nvgreTCP:
            return FrameBuilder.encapsulate(
                inner: FrameKind.tcp.frame, outerSourceMAC: e.lbMAC, outerDestinationMAC: e.hostMAC,
                outerSource: e.lbPA, outerDestination: e.hostPA, vsid: 5001, flowID: 0x5A, tos: 0x28, ttl: 64)
        case .nvgreUDP:
            return FrameBuilder.encapsulate(
                inner: FrameKind.udp.frame, outerSourceMAC: e.lbMAC, outerDestinationMAC: e.hostMAC,
                outerSource: e.lbPA, outerDestination: e.hostPA, vsid: 0xFF_FFFE, flowID: 0xFF, identification: 9)
        case .nvgreARP:
            return FrameBuilder.encapsulate(
                inner: FrameKind.arpRequest.frame, outerSourceMAC: e.hostMAC, outerDestinationMAC: e.lbMAC,
                outerSource: e.hostPA, outerDestination: e.lbPA, vsid: 4096)
        }
    }
}

@Suite struct FrameBuilderTests {
    /// The example of docs/packets.md "External client to public VIP", written out byte for byte with independently computed checksums:
    /// MACLB → MACH1, 192.168.6.2 → 192.168.6.4, BlueVSID1 (5001), MACext → MACVM2,
    /// ClientIP 203.0.113.7 → 10.1.6.21, TCP SYN 49152 → 80.
    static let specExample = hex(
        """
        # outer Ethernet
        02 00 00 00 06 04   # destination MACH1
        02 4c 42 00 06 02   # source MACLB
        08 00               # IPv4
        # outer IPv4
        45                  # version 4, IHL 5
        00                  # TOS
        00 52               # total length 82 = 20 + 8 + 54
        00 00               # identification 0 (DF set)
        40 00               # DF, offset 0
        40                  # TTL 64
        2f                  # protocol 47 GRE
        ad 26               # header checksum
        c0 a8 06 02         # source 192.168.6.2 (nvlb PA)
        c0 a8 06 04         # destination 192.168.6.4 (host PA)
        # NVGRE
        20 00               # flags/version: K
        65 58               # transparent Ethernet bridging
        00 13 89            # VSID 5001
        5a                  # FlowID
        # inner Ethernet
        00 15 5d 01 06 21   # destination MACVM2
        02 4c 42 00 b1 00   # source MACext (routing domain gateway MAC)
        08 00               # IPv4
        # inner IPv4
        45 00               # version 4, IHL 5, TOS 0
        00 28               # total length 40
        12 34               # identification
        40 00               # DF
        40 06               # TTL 64, protocol TCP
        dc 7e               # header checksum
        cb 00 71 07         # source 203.0.113.7 (client)
        0a 01 06 15         # destination 10.1.6.21 (DIP CA)
        # TCP
        c0 00               # source port 49152
        00 50               # destination port 80
        01 02 03 04         # sequence number
        00 00 00 00         # acknowledgment number
        50 02               # data offset 5, SYN
        ff ff               # window
        9f 6e               # checksum
        00 00               # urgent pointer
        """)

    @Test func specExampleGolden() throws {
        let inner = FrameBuilder.tcp(
            srcMAC: Example.gatewayMAC, dstMAC: Example.vmMAC, src: Example.client, dst: Example.dip,
            sport: 49152, dport: 80, flags: .syn, seq: 0x0102_0304, ip: .init(identification: 0x1234))
        let frame = FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: Example.lbMAC, outerDestinationMAC: Example.hostMAC,
            outerSource: Example.lbPA, outerDestination: Example.hostPA, vsid: 5001, flowID: 0x5A)
        #expect(frame.count == 96)
        #expect(frame.count == inner.count + GREHeader.encapsulationOverhead)
        #expect(frame == Self.specExample)
    }

    @Test func specExampleParsesFieldByField() throws {
        let frame = try ParsedFrame.parse(Self.specExample)
        #expect(frame.destination == Example.hostMAC)
        #expect(frame.source == Example.lbMAC)
        #expect(frame.vlan == nil)
        #expect(frame.etherType == 0x0800)
        let outer = try #require(frame.ipv4)
        #expect(outer.version == 4 && outer.ihl == 5 && outer.tos == 0)
        #expect(outer.totalLength == 82 && outer.identification == 0)
        #expect(outer.dontFragment && !outer.moreFragments && outer.fragmentOffset == 0)
        #expect(outer.ttl == 64 && outer.protocolNumber == 47 && outer.checksum == 0xAD26)
        #expect(outer.source == Example.lbPA && outer.destination == Example.hostPA)
        #expect(outer.options.isEmpty && outer.headerChecksumValid)
        let gre = try #require(frame.gre)
        #expect(gre.isNVGRE && gre.flagsVersion == 0x2000 && gre.protocolType == 0x6558)
        #expect(gre.key == 0x0013_895A && gre.vsid == 5001 && gre.flowID == 0x5A)
        let inner = try #require(frame.inner)
        #expect(inner.destination == Example.vmMAC && inner.source == Example.gatewayMAC)
        #expect(inner.etherType == 0x0800 && inner.vlan == nil)
        let ip = try #require(inner.ipv4)
        #expect(ip.source == Example.client && ip.destination == Example.dip)
        #expect(ip.totalLength == 40 && ip.identification == 0x1234 && ip.ttl == 64 && ip.checksum == 0xDC7E)
        let tcp = try #require(inner.tcp)
        #expect(tcp.sourcePort == 49152 && tcp.destinationPort == 80)
        #expect(tcp.sequenceNumber == 0x0102_0304 && tcp.acknowledgmentNumber == 0)
        #expect(tcp.flags == .syn && tcp.dataOffset == 5 && tcp.window == 0xFFFF && tcp.checksum == 0x9F6E)
        #expect(tcp.payload.isEmpty && tcp.checksumValid == true)
        #expect(frame.checksumsValid)
    }

    /// Every kind parses back with valid checksums, and the bytes after the GRE header are the
    /// inner frame unchanged.
    @Test(arguments: FrameKind.allCases)
    func roundTripIsValid(_ kind: FrameKind) throws {
        let bytes = kind.frame
        let frame = try ParsedFrame.parse(bytes)
        #expect(frame.checksumsValid)
        #expect(frame.trailer.isEmpty)
        if let ip = frame.ipv4 { #expect(Int(ip.totalLength) + 14 + (frame.vlan == nil ? 0 : 4) == bytes.count) }
        // Ethernet padding to 60 bytes is tolerated and reported as trailer.
        let padded = FrameBuilder.padded(bytes)
        let reparsed = try ParsedFrame.parse(padded)
        #expect(reparsed.payload == frame.payload)
        #expect(reparsed.trailer.count == padded.count - bytes.count)
    }

    @Test func tcpFields() throws {
        let frame = try ParsedFrame.parse(FrameKind.tcp.frame)
        #expect(frame.destination == Example.vmMAC && frame.source == Example.gatewayMAC)
        let ip = try #require(frame.ipv4)
        #expect(ip.ihl == 5 && ip.ttl == 64 && ip.dontFragment && ip.tos == 0 && ip.protocolNumber == 6)
        let tcp = try #require(frame.tcp)
        #expect(tcp.sourcePort == 49152 && tcp.destinationPort == 80 && tcp.flags == [.psh, .ack])
        #expect(tcp.sequenceNumber == 7 && tcp.acknowledgmentNumber == 9 && tcp.window == 65535)
        #expect(tcp.payload == Array("GET / HTTP/1.1\r\n".utf8))
    }

    @Test func tcpOptionsArePadded() throws {
        let tcp = try #require(ParsedFrame.parse(FrameKind.tcpWithOptions.frame).tcp)
        #expect(tcp.dataOffset == 7)
        #expect(tcp.options == [0x02, 0x04, 0x05, 0xB4, 0x01, 0x03, 0x03, 0x00])
        #expect(tcp.flags == .syn && tcp.sequenceNumber == 0xFFFF_FFFF && tcp.payload.isEmpty)
    }

    @Test func ipv4OptionsAndFields() throws {
        let frame = try ParsedFrame.parse(FrameKind.ipv4WithOptions.frame)
        let ip = try #require(frame.ipv4)
        #expect(ip.ihl == 7 && ip.headerLength == 28)
        #expect(ip.options == [0x94, 0x04, 0, 0, 0x01, 0, 0, 0])
        #expect(ip.tos == 0x10 && ip.ttl == 3 && ip.identification == 77)
        #expect(frame.tcp?.payload == [1, 2, 3])
        #expect(frame.checksumsValid)
    }

    @Test func vlanTag() throws {
        let bytes = FrameKind.vlanTCP.frame
        #expect(bytes[12...17] == [0x81, 0x00, 0x00, 0x2A, 0x08, 0x00])
        let frame = try ParsedFrame.parse(bytes)
        #expect(frame.vlan == ParsedVLAN(tpid: 0x8100, tci: 42))
        #expect(frame.vlan?.vlanID == 42)
        #expect(frame.etherType == 0x0800 && frame.tcp?.flags == .fin)
    }

    @Test func udpFields() throws {
        let udp = try #require(ParsedFrame.parse(FrameKind.udp.frame).udp)
        #expect(udp.sourcePort == 5353 && udp.destinationPort == 53 && udp.length == 13)
        #expect(udp.payload == [0xde, 0xad, 0xbe, 0xef, 0x01] && udp.checksum != 0 && udp.checksumValid == true)
        let zero = try #require(ParsedFrame.parse(FrameKind.udpZeroChecksum.frame).udp)
        #expect(zero.checksum == 0 && zero.checksumValid == true && zero.payload == [9, 9])
    }

    @Test func arpFields() throws {
        let request = try ParsedFrame.parse(FrameKind.arpRequest.frame)
        #expect(request.destination == .broadcast && request.source == Example.hostMAC && request.etherType == 0x0806)
        #expect(
            request.arp
                == ParsedARP(
                    hardwareType: 1, protocolType: 0x0800, hardwareLength: 6, protocolLength: 4, operation: 1,
                    senderMAC: Example.hostMAC, senderIP: Example.hostPA, targetMAC: .zero, targetIP: Example.lbPA))
        #expect(FrameKind.arpRequest.frame.count == 42)
        let reply = try ParsedFrame.parse(FrameKind.arpReply.frame)
        #expect(reply.destination == Example.hostMAC && reply.source == Example.lbMAC)
        let arp = try #require(reply.arp)
        #expect(arp.operation == 2 && arp.senderMAC == Example.lbMAC && arp.senderIP == Example.lbPA)
        #expect(arp.targetMAC == Example.hostMAC && arp.targetIP == Example.hostPA)
    }

    @Test func fragments() throws {
        let first = try #require(ParsedFrame.parse(FrameKind.firstFragment.frame).ipv4)
        #expect(first.moreFragments && first.fragmentOffset == 0 && !first.dontFragment && first.isFragment)
        #expect(first.udp?.sourcePort == 5353 && first.udp?.checksumValid == nil)
        let later = try #require(ParsedFrame.parse(FrameKind.nonFirstFragment.frame).ipv4)
        #expect(!later.moreFragments && later.fragmentOffset == 3)
        #expect(later.payload == .fragment([UInt8](repeating: 8, count: 24)))
        #expect(ParsedFrame(FrameKind.icmp.frame)?.ipv4?.payload == .other([8, 0, 0xF7, 0xFF, 0, 0, 0, 0]))
    }

    @Test func encapsulationFields() throws {
        let inner = FrameKind.udp.frame
        let bytes = FrameKind.nvgreUDP.frame
        #expect(Array(bytes[42...]) == inner)
        let frame = try ParsedFrame.parse(bytes)
        let outer = try #require(frame.ipv4)
        #expect(outer.ihl == 5 && outer.dontFragment && outer.protocolNumber == 47 && outer.identification == 9)
        #expect(frame.gre?.vsid == 0xFF_FFFE && frame.gre?.flowID == 0xFF)
        #expect(frame.inner == ParsedFrame(inner))
        #expect(frame.gre?.payload == inner)
        let tcp = try ParsedFrame.parse(FrameKind.nvgreTCP.frame)
        #expect(tcp.ipv4?.tos == 0x28 && tcp.ipv4?.ttl == 64)
        #expect(ParsedFrame(FrameKind.nvgreARP.frame)?.inner?.arp?.targetIP == Example.lbPA)
    }

    /// A corrupted checksum anywhere (outer header, inner header, inner TCP/UDP) is reported.
    @Test(arguments: [24, 42 + 14 + 10, 42 + 14 + 20 + 16, 42 + 14 + 20 + 20])
    func corruptedChecksumsAreDetected(_ offset: Int) {
        var bytes = FrameKind.nvgreTCP.frame
        #expect(ParsedFrame(bytes)?.checksumsValid == true)
        bytes[offset] ^= 0x01
        #expect(ParsedFrame(bytes)?.checksumsValid == false)
    }
}
