/// Builds complete, checksum-correct frames as byte arrays: for tests, the `nvlb gen`
/// traffic generator and benchmarks. Allocates; not for the per-packet path.
///
/// Layers compose: `ethernet` wraps any payload, `ipv4Packet` any transport bytes,
/// `tcpSegment`/`udpDatagram` build transport bytes with the pseudo-header checksum, and
/// `tcp`/`udp`/`arpRequest`/`arpReply` build whole frames in one call. `encapsulate` wraps
/// any inner frame in outer Ethernet/IPv4/NVGRE (RFC 7637, docs/packets.md "Wire format"):
///
/// ```swift
/// let inner = FrameBuilder.tcp(
///     srcMAC: gatewayMAC, dstMAC: vmMAC, src: client, dst: dip, sport: 40000, dport: 80, flags: .syn)
/// let frame = FrameBuilder.encapsulate(
///     inner: inner, outerSourceMAC: lbMAC, outerDestinationMAC: hostMAC,
///     outerSource: lbPA, outerDestination: hostPA, vsid: 5001)
/// ```
///
/// Preconditions (programming errors, not input errors): IPv4 options at most 40 bytes,
/// TCP options at most 40 bytes, datagrams at most 65,535 bytes, VSID at most 24 bits.
public enum FrameBuilder {
    /// IPv4 header fields other than addresses and protocol, each with a default.
    public struct IPv4Fields: Hashable, Sendable {
        /// Type of service / DSCP+ECN byte.
        public var tos: UInt8
        /// Time to live.
        public var ttl: UInt8
        /// Identification.
        public var identification: UInt16
        /// The don't-fragment flag (default set, as Linux sends TCP).
        public var dontFragment: Bool
        /// The more-fragments flag.
        public var moreFragments: Bool
        /// Fragment offset in 8-byte units.
        public var fragmentOffset: UInt16
        /// Raw option bytes, padded with zeros (end of option list) to a multiple of 4; at most 40.
        public var options: [UInt8]

        /// Fields with the given values; by default TOS 0, TTL 64, id 0, DF, no options.
        public init(
            tos: UInt8 = 0, ttl: UInt8 = 64, identification: UInt16 = 0, dontFragment: Bool = true,
            moreFragments: Bool = false, fragmentOffset: UInt16 = 0, options: [UInt8] = []
        ) {
            self.tos = tos
            self.ttl = ttl
            self.identification = identification
            self.dontFragment = dontFragment
            self.moreFragments = moreFragments
            self.fragmentOffset = fragmentOffset
            self.options = options
        }
    }

    // MARK: Ethernet

    /// An Ethernet frame: destination, source, an optional 802.1Q tag (`vlanID`, priority 0),
    /// `etherType`, then `payload`. No padding to the 60-byte minimum (see `padded`).
    public static func ethernet(
        destination: MACAddress, source: MACAddress, etherType: UInt16, vlanID: UInt16? = nil,
        payload: [UInt8]
    ) -> [UInt8] {
        let headerSize = EthernetHeader.size + (vlanID == nil ? 0 : VLANTag.size)
        var frame = [UInt8](repeating: 0, count: headerSize + payload.count)
        frame.withUnsafeMutableBytes { buffer in
            let base = buffer.baseAddress!
            let header = EthernetHeader(base)
            header.destination = destination
            header.source = source
            if let vlanID {
                let tag = VLANTag(base + 12)
                tag.tpid = EthernetHeader.etherTypeVLAN
                tag.tci = vlanID & 0x0FFF
                tag.etherType = etherType
            } else {
                header.etherType = etherType
            }
        }
        frame.replaceSubrange(headerSize..., with: payload)
        return frame
    }

    /// `frame` padded with zero bytes to `minimum` bytes (60: the Ethernet minimum without
    /// FCS), as a NIC would send it; unchanged when already long enough.
    public static func padded(_ frame: [UInt8], to minimum: Int = 60) -> [UInt8] {
        frame.count >= minimum ? frame : frame + [UInt8](repeating: 0, count: minimum - frame.count)
    }

    // MARK: ARP

    /// An Ethernet/IPv4 ARP frame with every field given. The Ethernet source is `senderMAC`.
    public static func arp(
        operation: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress,
        targetIP: IPv4Address, destination: MACAddress, vlanID: UInt16? = nil
    ) -> [UInt8] {
        var packet = [UInt8](repeating: 0, count: ARPHeader.size)
        packet.withUnsafeMutableBytes { buffer in
            let arp = ARPHeader(buffer.baseAddress!)
            arp.hardwareType = ARPHeader.hardwareTypeEthernet
            arp.protocolType = ARPHeader.protocolTypeIPv4
            arp.hardwareLength = 6
            arp.protocolLength = 4
            arp.operation = operation
            arp.senderMAC = senderMAC
            arp.senderIP = senderIP
            arp.targetMAC = targetMAC
            arp.targetIP = targetIP
        }
        return ethernet(
            destination: destination, source: senderMAC, etherType: EthernetHeader.etherTypeARP, vlanID: vlanID,
            payload: packet)
    }

    /// A broadcast ARP request "who has `targetIP`? tell `senderIP`" (target MAC zero).
    public static func arpRequest(
        senderMAC: MACAddress, senderIP: IPv4Address, targetIP: IPv4Address, vlanID: UInt16? = nil
    ) -> [UInt8] {
        arp(
            operation: ARPHeader.operationRequest, senderMAC: senderMAC, senderIP: senderIP, targetMAC: .zero,
            targetIP: targetIP, destination: .broadcast, vlanID: vlanID)
    }

    /// A unicast ARP reply "`senderIP` is at `senderMAC`", sent to `targetMAC`.
    public static func arpReply(
        senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress, targetIP: IPv4Address,
        vlanID: UInt16? = nil
    ) -> [UInt8] {
        arp(
            operation: ARPHeader.operationReply, senderMAC: senderMAC, senderIP: senderIP, targetMAC: targetMAC,
            targetIP: targetIP, destination: targetMAC, vlanID: vlanID)
    }

    // MARK: IPv4 and transports (no Ethernet)

    /// An IPv4 datagram (header with `fields`, correct header checksum, then `payload`).
    public static func ipv4Packet(
        source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8, payload: [UInt8],
        fields: IPv4Fields = IPv4Fields()
    ) -> [UInt8] {
        precondition(fields.options.count <= 40, "IPv4 options longer than 40 bytes")
        let optionsLength = (fields.options.count + 3) & ~3
        let headerLength = IPv4Header.minimumSize + optionsLength
        let total = headerLength + payload.count
        precondition(total <= 65_535, "IPv4 datagram longer than 65,535 bytes")
        var packet = [UInt8](repeating: 0, count: headerLength)
        packet.replaceSubrange(
            IPv4Header.minimumSize..<IPv4Header.minimumSize + fields.options.count, with: fields.options)
        packet.withUnsafeMutableBytes { buffer in
            let ip = IPv4Header(buffer.baseAddress!)
            ip.version = 4
            ip.ihl = UInt8(headerLength / 4)
            ip.tos = fields.tos
            ip.totalLength = UInt16(total)
            ip.identification = fields.identification
            ip.dontFragment = fields.dontFragment
            ip.moreFragments = fields.moreFragments
            ip.fragmentOffset = fields.fragmentOffset
            ip.ttl = fields.ttl
            ip.protocolNumber = protocolNumber
            ip.source = source
            ip.destination = destination
            ip.updateChecksum()
        }
        return packet + payload
    }

    /// A TCP segment (header, options padded to a multiple of 4, payload) with the checksum
    /// computed over the IPv4 pseudo-header of `source` → `destination`.
    public static func tcpSegment(
        source: IPv4Address, destination: IPv4Address, sport: UInt16, dport: UInt16,
        flags: TCPFlags = .ack, seq: UInt32 = 0, ack: UInt32 = 0, window: UInt16 = 65_535,
        urgentPointer: UInt16 = 0, options: [UInt8] = [], payload: [UInt8] = []
    ) -> [UInt8] {
        precondition(options.count <= 40, "TCP options longer than 40 bytes")
        let headerLength = TCPHeader.minimumSize + (options.count + 3) & ~3
        var segment = [UInt8](repeating: 0, count: headerLength)
        segment.replaceSubrange(TCPHeader.minimumSize..<TCPHeader.minimumSize + options.count, with: options)
        segment += payload
        segment.withUnsafeMutableBytes { buffer in
            let tcp = TCPHeader(buffer.baseAddress!)
            tcp.sourcePort = sport
            tcp.destinationPort = dport
            tcp.sequenceNumber = seq
            tcp.acknowledgmentNumber = ack
            tcp.dataOffset = UInt8(headerLength / 4)
            tcp.flags = flags
            tcp.window = window
            tcp.urgentPointer = urgentPointer
            tcp.updateChecksum(source: source, destination: destination, length: buffer.count)
        }
        return segment
    }

    /// A UDP datagram (header, payload) with the checksum computed over the IPv4 pseudo-header
    /// of `source` → `destination` (0 computed is sent as 0xFFFF), or 0 ("none") when
    /// `zeroChecksum`.
    public static func udpDatagram(
        source: IPv4Address, destination: IPv4Address, sport: UInt16, dport: UInt16,
        payload: [UInt8] = [], zeroChecksum: Bool = false
    ) -> [UInt8] {
        var datagram = [UInt8](repeating: 0, count: UDPHeader.size) + payload
        precondition(datagram.count <= 65_535, "UDP datagram longer than 65,535 bytes")
        datagram.withUnsafeMutableBytes { buffer in
            let udp = UDPHeader(buffer.baseAddress!)
            udp.sourcePort = sport
            udp.destinationPort = dport
            udp.length = UInt16(buffer.count)
            if !zeroChecksum {
                udp.updateChecksum(source: source, destination: destination, length: buffer.count)
            }
        }
        return datagram
    }

    // MARK: Whole frames

    /// An Ethernet frame carrying an IPv4 datagram with `payload` as its (raw) payload:
    /// e.g. ICMP, a non-first fragment, or hand-made transport bytes.
    public static func ipv4(
        srcMAC: MACAddress, dstMAC: MACAddress, src: IPv4Address, dst: IPv4Address, protocolNumber: UInt8,
        payload: [UInt8], ip: IPv4Fields = IPv4Fields(), vlanID: UInt16? = nil
    ) -> [UInt8] {
        ethernet(
            destination: dstMAC, source: srcMAC, etherType: EthernetHeader.etherTypeIPv4, vlanID: vlanID,
            payload: ipv4Packet(
                source: src, destination: dst, protocolNumber: protocolNumber, payload: payload, fields: ip))
    }

    /// An Ethernet/IPv4/TCP frame with correct IPv4 and TCP checksums. With `ip.moreFragments`
    /// this is a first fragment whose TCP checksum covers only the bytes given.
    public static func tcp(
        srcMAC: MACAddress, dstMAC: MACAddress, src: IPv4Address, dst: IPv4Address, sport: UInt16, dport: UInt16,
        flags: TCPFlags = .ack, seq: UInt32 = 0, ack: UInt32 = 0, window: UInt16 = 65_535,
        tcpOptions: [UInt8] = [], payload: [UInt8] = [], ip: IPv4Fields = IPv4Fields(), vlanID: UInt16? = nil
    ) -> [UInt8] {
        let segment = tcpSegment(
            source: src, destination: dst, sport: sport, dport: dport, flags: flags, seq: seq, ack: ack,
            window: window, options: tcpOptions, payload: payload)
        return ipv4(
            srcMAC: srcMAC, dstMAC: dstMAC, src: src, dst: dst, protocolNumber: IPv4Header.protocolTCP,
            payload: segment, ip: ip, vlanID: vlanID)
    }

    /// An Ethernet/IPv4/UDP frame with correct IPv4 and UDP checksums, or a UDP checksum of 0
    /// ("none") when `zeroChecksum`.
    public static func udp(
        srcMAC: MACAddress, dstMAC: MACAddress, src: IPv4Address, dst: IPv4Address, sport: UInt16, dport: UInt16,
        payload: [UInt8] = [], zeroChecksum: Bool = false, ip: IPv4Fields = IPv4Fields(), vlanID: UInt16? = nil
    ) -> [UInt8] {
        let datagram = udpDatagram(
            source: src, destination: dst, sport: sport, dport: dport, payload: payload, zeroChecksum: zeroChecksum)
        return ipv4(
            srcMAC: srcMAC, dstMAC: dstMAC, src: src, dst: dst, protocolNumber: IPv4Header.protocolUDP,
            payload: datagram, ip: ip, vlanID: vlanID)
    }

    // MARK: NVGRE

    /// `inner` (a whole Ethernet frame) encapsulated in NVGRE as nvlb sends it (docs/packets.md "What nvlb sends"):
    /// outer Ethernet (`outerSourceMAC` → `outerDestinationMAC`, type IPv4, untagged), outer
    /// IPv4 (IHL 5, DF, protocol 47, `tos`, `ttl`, `identification`, correct checksum),
    /// GRE 0x2000/0x6558 with key `vsid << 8 | flowID`, then `inner` unchanged.
    /// Adds `GREHeader.encapsulationOverhead` (42) bytes.
    public static func encapsulate(
        inner: [UInt8], outerSourceMAC: MACAddress, outerDestinationMAC: MACAddress,
        outerSource: IPv4Address, outerDestination: IPv4Address, vsid: UInt32, flowID: UInt8 = 0,
        tos: UInt8 = 0, ttl: UInt8 = 64, identification: UInt16 = 0
    ) -> [UInt8] {
        precondition(vsid <= 0xFF_FFFF, "VSID wider than 24 bits")
        var gre = [UInt8](repeating: 0, count: GREHeader.size)
        gre.withUnsafeMutableBytes { buffer in
            GREHeader(buffer.baseAddress!).setNVGRE(vsid: vsid, flowID: flowID)
        }
        return ipv4(
            srcMAC: outerSourceMAC, dstMAC: outerDestinationMAC, src: outerSource, dst: outerDestination,
            protocolNumber: IPv4Header.protocolGRE, payload: gre + inner,
            ip: IPv4Fields(tos: tos, ttl: ttl, identification: identification, dontFragment: true))
    }
}
