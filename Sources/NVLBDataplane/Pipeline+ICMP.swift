import NVLBBalancing
import NVLBPolicy
import NVLBWire

// ICMP in the first stage (docs/packets.md "ICMP and path MTU"): echo requests to nvlb's
// PA, to an external VIP and to a CA VIP are answered in place; errors (types 3, 11, 12)
// are classified by the packet they quote so that the second stage finds its flow. None
// of this is on the path of TCP/UDP frames: it is reached only where those are rejected,
// and kept out of line so that the per-packet loop stays as small as it was.

extension DataplaneWorker {
    /// IPv4 protocol number of ICMP.
    @usableFromInline static let icmp: UInt8 = 1

    /// ICMP to nvlb's PA (plain IPv4 on the underlay): an echo request is answered.
    @inlinable @inline(never)
    static func classifyUnderlayICMP(
        _ packet: inout Packet, outerEnd: Int, into c: inout Classification, snapshot s: PolicySnapshot
    ) {
        let p = packet.bytes
        let ip = EthernetHeader.size
        let header = IPv4Header(p + ip)
        if header.isFragment { return c.finish(.drop(.fragment)) }
        let icmp = ip + header.headerLength
        guard icmp + ICMPHeader.size <= outerEnd else { return c.finish(.drop(.malformed)) }
        guard ICMPHeader(p + icmp).type == ICMPHeader.typeEchoRequest else { return c.finish(.drop(.unsupported)) }
        answerEcho(&packet, ethernet: 0, ip: ip, icmp: icmp, sourceMAC: s.underlayMAC, snapshot: s)
        c.protocolNumber = Self.icmp  // counted as an echo reply by `finish`
        c.finish(.answer(.underlay))
    }

    /// ICMP from the Internet to a public VIP: echo answered, errors classified by their quote.
    /// `c.ip`, `c.transport` and the addresses were set by `parseTransport`.
    @inlinable @inline(never)
    static func classifyExternalICMP(
        _ packet: inout Packet, end: Int, into c: inout Classification, snapshot s: PolicySnapshot
    ) {
        let p = packet.bytes
        if IPv4Header(p + c.ip).moreFragments { return c.finish(.drop(.fragment)) }
        guard c.transport + ICMPHeader.size <= end else { return c.finish(.drop(.malformed)) }
        let type = ICMPHeader(p + c.transport).type
        if type == ICMPHeader.typeEchoRequest {
            guard s.isVIP(vsid: 0, vip: c.destination) else { return c.finish(.drop(.noVIP)) }
            answerEcho(&packet, ethernet: 0, ip: c.ip, icmp: c.transport, sourceMAC: s.externalMAC, snapshot: s)
            return c.finish(.answer(.external))
        }
        guard ICMPHeader.isError(type: type) else { return c.finish(.drop(.unsupported)) }
        c.vsid = 0
        c.ethernet = 0
        classifyICMPError(p, end: end, clientSide: true, into: &c, snapshot: s)
    }

    /// ICMP inside NVGRE, reached when the NVGRE classification rejected the frame as
    /// `unsupported`: parses again from the bytes (a batch's classification entry may hold
    /// another frame's fields) and, for ICMP, answers echo to a CA VIP or classifies an
    /// error: toward a VIP from a client, otherwise from a DIP's side. Anything else keeps
    /// its `unsupported`.
    @inlinable @inline(never)
    static func classifyInnerICMP(
        _ packet: inout Packet, outerEnd: Int, into c: inout Classification, snapshot s: PolicySnapshot
    ) {
        let p = packet.bytes
        let outer = IPv4Header(p + EthernetHeader.size)
        let gre = EthernetHeader.size + outer.headerLength
        let vsid = GREHeader(p + gre).vsid
        let inner = gre + GREHeader.size
        let innerIP = inner + EthernetHeader.size
        guard EthernetHeader(p + inner).etherType == EthernetHeader.etherTypeIPv4,
            let domain = s.vsidIndex.find(UInt64(vsid))
        else { return }
        let end = validIPv4(p, offset: innerIP, end: outerEnd)
        guard end > 0 else { return }
        let header = IPv4Header(p + innerIP)
        guard header.protocolNumber == icmp else { return }
        if header.isFragment { return c.finish(.drop(.fragment)) }
        let icmpOffset = innerIP + header.headerLength
        guard icmpOffset + ICMPHeader.size <= end else { return c.finish(.drop(.malformed)) }
        let type = ICMPHeader(p + icmpOffset).type
        let source = header.source.rawValue
        let destination = header.destination.rawValue
        let innerEthernet = EthernetHeader(p + inner)
        c.vsid = vsid
        c.ethernet = inner
        c.ip = innerIP
        c.transport = icmpOffset
        c.ipLength = Int(header.totalLength)

        // The sender must be who its lookup record says, as for TCP and UDP (docs/packets.md "Spoofing checks and tenant isolation").
        let toVIP = s.isVIP(vsid: vsid, vip: destination)
        let sender =
            toVIP
            ? s.record(vsid: vsid, ca: source) ?? s.record(domain: domain, ca: source)
            : s.record(vsid: vsid, ca: source)
        guard let sender, s.records[sender].pa == outer.source.rawValue,
            s.records[sender].mac == innerEthernet.source.rawValue
        else { return c.finish(.drop(.spoofed)) }
        c.record = Int32(truncatingIfNeeded: sender)

        if type == ICMPHeader.typeEchoRequest {
            guard toVIP else { return c.finish(.drop(.noVIP)) }
            // Back to the client's host in the request's VSID, from the CA VIP.
            let flowID = Self.flowID(
                s, protocolNumber: icmp, source: destination, sourcePort: 0, destination: source, destinationPort: 0)
            let outerSourceMAC = EthernetHeader(p).source.rawValue
            answerEcho(
                &packet, ethernet: inner, ip: innerIP, icmp: icmpOffset,
                sourceMAC: s.domains[Int(domain)].gatewayMAC, snapshot: s)
            let frame = inner - Rewrite.encapsulationSize
            Rewrite.encapsulate(
                at: p + frame, sourceMAC: s.underlayMAC, destinationMAC: outerSourceMAC, source: s.underlayAddress,
                destination: s.records[sender].pa, tos: header.tos, ttl: s.ttl,
                innerLength: EthernetHeader.size + c.ipLength, key: vsid << 8 | UInt32(flowID),
                checksumBase: s.outerChecksumBase)
            packet.start += frame
            packet.length = Rewrite.encapsulationSize + EthernetHeader.size + c.ipLength
            c.protocolNumber = Self.icmp  // counted as an echo reply by `finish`
            return c.finish(.answer(.underlay))
        }
        guard ICMPHeader.isError(type: type) else { return c.finish(.drop(.unsupported)) }
        classifyICMPError(p, end: end, clientSide: toVIP, into: &c, snapshot: s)
    }

    /// Turns the echo request at `ip` (ICMP at `icmp`) into its reply in place: addresses
    /// swapped, TTL `underlay.ttl`, type 0, checksums updated; Ethernet back to the sender
    /// from `sourceMAC`. The frame keeps its position; its length becomes the datagram's.
    @inlinable
    static func answerEcho(
        _ packet: inout Packet, ethernet: Int, ip: Int, icmp: Int, sourceMAC: UInt64, snapshot s: PolicySnapshot
    ) {
        let p = packet.bytes
        let frame = EthernetHeader(p + ethernet)
        frame.destination = frame.source
        frame.source = MACAddress(rawValue: sourceMAC)
        let header = IPv4Header(p + ip)
        let source = header.source
        header.source = header.destination
        header.destination = source
        header.ttl = s.ttl
        header.updateChecksum()
        let message = ICMPHeader(p + icmp)
        message.type = ICMPHeader.typeEchoReply
        // Type and code form one 16-bit word: 0x0800 → 0x0000 (code kept).
        let code = UInt16(message.code)
        message.checksum = Checksum.updated(
            message.checksum, replacing: UInt16(ICMPHeader.typeEchoRequest) << 8 | code, with: code)
        if ethernet == 0 { packet.length = EthernetHeader.size + Int(header.totalLength) }
    }

    /// Reads the quote of the ICMP error at `c.transport` (ends at `end`) into the flow
    /// fields of `c` and sets its kind. The quoted packet is one nvlb sent: to a client
    /// (`clientSide`, VIP:P → client:c) or to a DIP (client:c → DIP:bp). Either way the
    /// flow's "source" is the quoted destination, as `forwardRequest`/`forwardReply` see it.
    @inlinable
    static func classifyICMPError(
        _ p: UnsafeMutableRawPointer, end: Int, clientSide: Bool, into c: inout Classification,
        snapshot s: PolicySnapshot
    ) {
        let quote = c.transport + ICMPHeader.size
        guard quote + IPv4Header.minimumSize <= end else { return c.finish(.drop(.malformed)) }
        let quoted = IPv4Header(p + quote)
        let quotedHeaderLength = quoted.headerLength
        guard quoted.version == 4, quotedHeaderLength >= IPv4Header.minimumSize,
            quote + quotedHeaderLength + 8 <= end
        else { return c.finish(.drop(.malformed)) }
        let proto = quoted.protocolNumber
        guard proto == TransportProtocol.tcp.rawValue || proto == TransportProtocol.udp.rawValue,
            quoted.fragmentOffset == 0
        else { return c.finish(.drop(.unsupported)) }
        let ports = p + quote + quotedHeaderLength
        c.protocolNumber = proto
        c.tcpFlags = 0
        c.source = quoted.destination.rawValue
        c.sourcePort = ports.loadBigEndian(fromByteOffset: 2, as: UInt16.self)
        c.destination = quoted.source.rawValue
        c.destinationPort = ports.loadBigEndian(fromByteOffset: 0, as: UInt16.self)
        if clientSide {
            let vip = s.addressIndex.find(AddressMap.key(vsid: c.vsid, address: c.destination)).vip
            let listener = vip >= 0 ? s.listener(vip: vip, protocolNumber: proto, port: c.destinationPort) : -1
            guard listener >= 0 else { return c.finish(.drop(.noFlow)) }
            c.kind = .clientICMPError
            c.listener = listener
            c.hash = s.hasher.flowHash(protocolNumber: proto, clientIP: c.source, clientPort: c.sourcePort)
        } else {
            c.kind = .backendICMPError
            c.listener = -1
            c.hash = s.hasher.flowHash(protocolNumber: proto, clientIP: c.destination, clientPort: c.destinationPort)
        }
    }
}
