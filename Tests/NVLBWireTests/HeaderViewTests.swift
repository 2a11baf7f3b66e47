import NVLBWire
import Testing

/// Every view reads every field from hand-written golden bytes, and writing every field into
/// zeroed memory reproduces those bytes exactly.
@Suite struct HeaderViewTests {
    static let ethernetGolden = hex(
        """
        00 15 5d 01 06 21   # destination 00:15:5d:01:06:21
        02 4c 42 00 b1 00   # source 02:4c:42:00:b1:00
        08 00               # EtherType IPv4
        """)

    @Test func ethernetReads() {
        var bytes = Self.ethernetGolden
        withPointer(&bytes) { base in
            let header = EthernetHeader(base)
            #expect(header.destination == mac("00:15:5d:01:06:21"))
            #expect(header.source == mac("02:4c:42:00:b1:00"))
            #expect(header.etherType == EthernetHeader.etherTypeIPv4)
            #expect(!header.isTagged)
            #expect(header.payload == base + 14)
        }
        #expect(EthernetHeader.size == 14)
    }

    @Test func ethernetWrites() {
        var bytes = [UInt8](repeating: 0, count: 14)
        withPointer(&bytes) { base in
            let header = EthernetHeader(base)
            header.destination = mac("00:15:5d:01:06:21")
            header.source = mac("02:4c:42:00:b1:00")
            header.etherType = 0x0800
        }
        #expect(bytes == Self.ethernetGolden)
    }

    @Test func etherTypeConstants() {
        #expect(EthernetHeader.etherTypeIPv4 == 0x0800)
        #expect(EthernetHeader.etherTypeARP == 0x0806)
        #expect(EthernetHeader.etherTypeIPv6 == 0x86DD)
        #expect(EthernetHeader.etherTypeVLAN == 0x8100)
        #expect(EthernetHeader.etherTypeQinQ == 0x88A8)
        #expect(EthernetHeader.etherTypeTransparentEthernet == 0x6558)
    }

    @Test func macEdgeOctets() {
        // Every octet distinct, high bits set: catches a swapped or shifted 4+2 byte split.
        var bytes = hex("ff fe fd fc fb fa  01 02 03 04 05 06  81 00")
        withPointer(&bytes) { base in
            let header = EthernetHeader(base)
            #expect(header.destination.rawValue == 0xFFFE_FDFC_FBFA)
            #expect(header.source.rawValue == 0x0102_0304_0506)
            #expect(header.isTagged)
            header.source = MACAddress(rawValue: 0xA1A2_A3A4_A5A6)
        }
        #expect(bytes == hex("ff fe fd fc fb fa  a1 a2 a3 a4 a5 a6  81 00"))
    }

    static let vlanGolden = hex(
        """
        81 00     # TPID 802.1Q
        a0 64     # TCI: priority 5, DEI 0, VLAN 100
        08 06     # encapsulated EtherType ARP
        """)

    @Test func vlanTagReadsAndWrites() {
        var bytes = Self.vlanGolden
        withPointer(&bytes) { base in
            let tag = VLANTag(base)
            #expect(tag.tpid == 0x8100)
            #expect(tag.tci == 0xA064)
            #expect(tag.priority == 5)
            #expect(tag.vlanID == 100)
            #expect(tag.etherType == 0x0806)
        }
        var written = [UInt8](repeating: 0, count: 6)
        withPointer(&written) { base in
            let tag = VLANTag(base)
            tag.tpid = 0x8100
            tag.vlanID = 100
            tag.priority = 5
            tag.etherType = 0x0806
        }
        #expect(written == Self.vlanGolden)
    }

    static let arpGolden = hex(
        """
        00 01               # hardware type Ethernet
        08 00               # protocol type IPv4
        06                  # hardware length
        04                  # protocol length
        00 01               # operation request
        02 00 00 00 06 04   # sender MAC
        c0 a8 06 04         # sender IP 192.168.6.4
        00 00 00 00 00 00   # target MAC (unknown)
        c0 a8 06 02         # target IP 192.168.6.2
        """)

    @Test func arpReads() {
        var bytes = Self.arpGolden
        withPointer(&bytes) { base in
            let arp = ARPHeader(base)
            #expect(arp.hardwareType == ARPHeader.hardwareTypeEthernet)
            #expect(arp.protocolType == ARPHeader.protocolTypeIPv4)
            #expect(arp.hardwareLength == 6)
            #expect(arp.protocolLength == 4)
            #expect(arp.operation == ARPHeader.operationRequest)
            #expect(arp.senderMAC == mac("02:00:00:00:06:04"))
            #expect(arp.senderIP == ip("192.168.6.4"))
            #expect(arp.targetMAC == .zero)
            #expect(arp.targetIP == ip("192.168.6.2"))
            #expect(arp.isEthernetIPv4)
            arp.protocolLength = 16
            #expect(!arp.isEthernetIPv4)
        }
        #expect(ARPHeader.size == 28)
    }

    @Test func arpWrites() {
        var bytes = [UInt8](repeating: 0xEE, count: 28)
        withPointer(&bytes) { base in
            let arp = ARPHeader(base)
            arp.hardwareType = 1
            arp.protocolType = 0x0800
            arp.hardwareLength = 6
            arp.protocolLength = 4
            arp.operation = 1
            arp.senderMAC = mac("02:00:00:00:06:04")
            arp.senderIP = ip("192.168.6.4")
            arp.targetMAC = .zero
            arp.targetIP = ip("192.168.6.2")
        }
        #expect(bytes == Self.arpGolden)
    }

    /// RFC 1071 example header, with two option words.
    static let ipv4Golden = hex(
        """
        47                  # version 4, IHL 7 (28 bytes)
        b8                  # TOS
        00 73               # total length 115
        ab cd               # identification
        60 0a               # reserved 0, DF 1, MF 1, fragment offset 10
        3f                  # TTL 63
        11                  # protocol UDP
        b8 61               # checksum (as carried)
        c0 a8 00 01         # source 192.168.0.1
        c0 a8 00 c7         # destination 192.168.0.199
        94 04 00 00         # option: router alert
        01 01 01 00         # NOPs, end of list
        """)

    @Test func ipv4Reads() {
        var bytes = Self.ipv4Golden
        withPointer(&bytes) { base in
            let header = IPv4Header(base)
            #expect(header.version == 4)
            #expect(header.ihl == 7)
            #expect(header.headerLength == 28)
            #expect(header.tos == 0xB8)
            #expect(header.totalLength == 115)
            #expect(header.identification == 0xABCD)
            #expect(header.flagsAndFragmentOffset == 0x600A)
            #expect(header.dontFragment)
            #expect(header.moreFragments)
            #expect(header.fragmentOffset == 10)
            #expect(header.isFragment)
            #expect(!header.isFirstFragment)
            #expect(header.isNonFirstFragment)
            #expect(header.ttl == 63)
            #expect(header.protocolNumber == IPv4Header.protocolUDP)
            #expect(header.checksum == 0xB861)
            #expect(header.source == ip("192.168.0.1"))
            #expect(header.destination == ip("192.168.0.199"))
            #expect(header.payload == base + 28)
        }
        #expect(IPv4Header.minimumSize == 20)
    }

    @Test func ipv4Writes() {
        var bytes = [UInt8](repeating: 0, count: 28)
        bytes.replaceSubrange(20..<28, with: Self.ipv4Golden[20..<28])
        withPointer(&bytes) { base in
            let header = IPv4Header(base)
            header.version = 4
            header.ihl = 7
            header.tos = 0xB8
            header.totalLength = 115
            header.identification = 0xABCD
            header.dontFragment = true
            header.moreFragments = true
            header.fragmentOffset = 10
            header.ttl = 63
            header.protocolNumber = 17
            header.checksum = 0xB861
            header.source = ip("192.168.0.1")
            header.destination = ip("192.168.0.199")
        }
        #expect(bytes == Self.ipv4Golden)
    }

    @Test func ipv4FragmentFlags() {
        var bytes = [UInt8](repeating: 0, count: 20)
        withPointer(&bytes) { base in
            let header = IPv4Header(base)
            header.dontFragment = true
            #expect(!header.isFragment && !header.isFirstFragment && !header.isNonFirstFragment)
            header.moreFragments = true
            #expect(header.isFragment && header.isFirstFragment && !header.isNonFirstFragment)
            header.fragmentOffset = 0x1FFF
            #expect(header.isFragment && !header.isFirstFragment && header.isNonFirstFragment)
            header.moreFragments = false
            #expect(header.isFragment && !header.isFirstFragment && header.isNonFirstFragment)
            #expect(header.flagsAndFragmentOffset == 0x5FFF)
            header.dontFragment = false
            header.fragmentOffset = 0
            #expect(header.flagsAndFragmentOffset == 0)
            // Setting version and IHL independently keeps the other nibble.
            header.ihl = 5
            header.version = 4
        }
        #expect(bytes[0] == 0x45)
    }

    @Test func ipv4ChecksumConveniences() {
        var bytes = hex("45 00 00 73 00 00 40 00 40 11 00 00 c0 a8 00 01 c0 a8 00 c7")
        withPointer(&bytes) { base in
            let header = IPv4Header(base)
            #expect(header.computeChecksum() == 0xB861)
            #expect(!header.isChecksumValid)
            header.updateChecksum()
            #expect(header.checksum == 0xB861)
            #expect(header.isChecksumValid)
            // The stored checksum does not influence the computation.
            header.checksum = 0x1234
            #expect(header.computeChecksum() == 0xB861)
        }
    }

    static let greGolden = hex(
        """
        20 00               # flags/version: K=1
        65 58               # protocol transparent Ethernet bridging
        00 13 89            # VSID 5001
        5a                  # FlowID 0x5a
        """)

    @Test func greReads() {
        var bytes = Self.greGolden
        withPointer(&bytes) { base in
            let gre = GREHeader(base)
            #expect(gre.flagsVersion == GREHeader.nvgreFlagsVersion)
            #expect(gre.protocolType == GREHeader.protocolTransparentEthernet)
            #expect(gre.isNVGRE)
            #expect(gre.key == 0x0013_895A)
            #expect(gre.vsid == 5001)
            #expect(gre.flowID == 0x5A)
            #expect(gre.payload == base + 8)
            gre.flagsVersion = 0x3000
            #expect(!gre.isNVGRE)
        }
        #expect(GREHeader.size == 8)
        #expect(GREHeader.nvgreFlagsVersion == 0x2000)
        #expect(GREHeader.protocolTransparentEthernet == 0x6558)
        #expect(GREHeader.encapsulationOverhead == 42)
    }

    @Test func greWrites() {
        var bytes = [UInt8](repeating: 0, count: 8)
        withPointer(&bytes) { base in
            let gre = GREHeader(base)
            gre.flagsVersion = 0x2000
            gre.protocolType = 0x6558
            gre.vsid = 5001
            gre.flowID = 0x5A
        }
        #expect(bytes == Self.greGolden)
        var other = [UInt8](repeating: 0xFF, count: 8)
        withPointer(&other) { GREHeader($0).setNVGRE(vsid: 5001, flowID: 0x5A) }
        #expect(other == Self.greGolden)
        withPointer(&other) { base in
            let gre = GREHeader(base)
            gre.vsid = 0xFF_FFFE  // keeps the FlowID
            #expect(gre.flowID == 0x5A && gre.vsid == 0xFF_FFFE)
            gre.flowID = 0  // keeps the VSID
            #expect(gre.key == 0xFFFF_FE00)
        }
    }

    static let tcpGolden = hex(
        """
        c0 00               # source port 49152
        00 50               # destination port 80
        01 02 03 04         # sequence number
        a0 b0 c0 d0         # acknowledgment number
        60                  # data offset 6 (24 bytes), reserved 0
        12                  # flags SYN+ACK
        72 10               # window 29200
        9f 6e               # checksum (as carried)
        00 07               # urgent pointer
        02 04 05 b4         # option: MSS 1460
        """)

    @Test func tcpReads() {
        var bytes = Self.tcpGolden
        withPointer(&bytes) { base in
            let tcp = TCPHeader(base)
            #expect(tcp.sourcePort == 49152)
            #expect(tcp.destinationPort == 80)
            #expect(tcp.sequenceNumber == 0x0102_0304)
            #expect(tcp.acknowledgmentNumber == 0xA0B0_C0D0)
            #expect(tcp.dataOffset == 6)
            #expect(tcp.headerLength == 24)
            #expect(tcp.flags == [.syn, .ack])
            #expect(tcp.flags.contains(.syn) && !tcp.flags.contains(.fin))
            #expect(tcp.window == 29200)
            #expect(tcp.checksum == 0x9F6E)
            #expect(tcp.urgentPointer == 7)
        }
        #expect(TCPHeader.checksumOffset == 16)
        #expect(TCPHeader.minimumSize == 20)
    }

    @Test func tcpWrites() {
        var bytes = [UInt8](repeating: 0, count: 24)
        bytes.replaceSubrange(20..<24, with: Self.tcpGolden[20..<24])
        withPointer(&bytes) { base in
            let tcp = TCPHeader(base)
            tcp.sourcePort = 49152
            tcp.destinationPort = 80
            tcp.sequenceNumber = 0x0102_0304
            tcp.acknowledgmentNumber = 0xA0B0_C0D0
            tcp.dataOffset = 6
            tcp.flags = [.syn, .ack]
            tcp.window = 29200
            tcp.checksum = 0x9F6E
            tcp.urgentPointer = 7
        }
        #expect(bytes == Self.tcpGolden)
    }

    @Test func tcpFlagBits() {
        #expect(TCPFlags.fin.rawValue == 0x01)
        #expect(TCPFlags.syn.rawValue == 0x02)
        #expect(TCPFlags.rst.rawValue == 0x04)
        #expect(TCPFlags.psh.rawValue == 0x08)
        #expect(TCPFlags.ack.rawValue == 0x10)
        #expect(TCPFlags.urg.rawValue == 0x20)
        #expect(TCPFlags.ece.rawValue == 0x40)
        #expect(TCPFlags.cwr.rawValue == 0x80)
        #expect(TCPFlags([.syn, .ack]).description == "[SYN,ACK]")
    }

    static let udpGolden = hex(
        """
        d4 31               # source port 54321
        00 35               # destination port 53
        00 1c               # length 28
        ff ff               # checksum 0xffff (a computed 0)
        """)

    @Test func udpReadsAndWrites() {
        var bytes = Self.udpGolden
        withPointer(&bytes) { base in
            let udp = UDPHeader(base)
            #expect(udp.sourcePort == 54321)
            #expect(udp.destinationPort == 53)
            #expect(udp.length == 28)
            #expect(udp.checksum == 0xFFFF)
        }
        var written = [UInt8](repeating: 0, count: 8)
        withPointer(&written) { base in
            let udp = UDPHeader(base)
            udp.sourcePort = 54321
            udp.destinationPort = 53
            udp.length = 28
            udp.checksum = 0xFFFF
        }
        #expect(written == Self.udpGolden)
        #expect(UDPHeader.checksumOffset == 6)
        #expect(UDPHeader.size == 8)
    }

    /// Views work at any address: headers after a 14-byte Ethernet header are unaligned.
    @Test(arguments: 0..<8)
    func unalignedAccess(_ shift: Int) {
        var bytes = [UInt8](repeating: 0, count: shift) + Self.tcpGolden
        withPointer(&bytes) { base in
            let tcp = TCPHeader(base + shift)
            #expect(tcp.sequenceNumber == 0x0102_0304)
            tcp.acknowledgmentNumber = 0x1122_3344
            #expect(tcp.acknowledgmentNumber == 0x1122_3344)
        }
        #expect(bytes[(shift + 8)..<(shift + 12)] == [0x11, 0x22, 0x33, 0x44])
    }
}
