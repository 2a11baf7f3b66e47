import NVLBBalancing
import NVLBPolicy
import NVLBWire

extension DataplaneWorker {
    /// First stage: validates the frame layer by layer and decides its kind. Every
    /// check of docs/packets.md "What nvlb accepts" and "Drop reasons" that needs no flow state happens here; ARP is
    /// answered here (in place).
    @inlinable
    public static func classify(_ packet: inout Packet, snapshot s: PolicySnapshot) -> Classification {
        var c = Classification()
        classify(&packet, into: &c, snapshot: s)
        return c
    }

    /// `classify(_:snapshot:)` writing into `c` in place (a batch's scratch entry):
    /// each field is written once, nothing is copied.
    @inlinable
    public static func classify(_ packet: inout Packet, into c: inout Classification, snapshot s: PolicySnapshot) {
        let p = packet.bytes
        let n = packet.length
        guard n >= EthernetHeader.size else { return c.finish(.drop(.malformed)) }
        let ethernet = EthernetHeader(p)
        let etherType = ethernet.etherType
        if etherType == EthernetHeader.etherTypeARP { return answerARP(&packet, into: &c, snapshot: s) }
        let destinationMAC = ethernet.destination.rawValue
        // With `bgp:`, routers send VIP traffic to the MAC that answered for `next_hop`,
        // which may be `underlay.mac` (docs/operations.md "Several instances behind ECMP").
        let toExternal =
            s.hasExternal
            && (destinationMAC == s.externalMAC || (s.bgpNextHop != 0 && destinationMAC == s.underlayMAC))
        guard destinationMAC == s.underlayMAC || toExternal else { return c.finish(.drop(.notForUs)) }
        guard etherType == EthernetHeader.etherTypeIPv4 else { return c.finish(.drop(.unsupported)) }

        let outerEnd = validIPv4(p, offset: EthernetHeader.size, end: n)
        guard outerEnd > 0 else { return c.finish(.drop(.malformed)) }
        let outer = IPv4Header(p + EthernetHeader.size)
        let destination = outer.destination.rawValue
        if destination == s.underlayAddress {
            guard outer.protocolNumber == 47 else {
                if outer.protocolNumber == icmp {
                    return classifyUnderlayICMP(&packet, outerEnd: outerEnd, into: &c, snapshot: s)
                }
                return c.finish(.drop(.unsupported))
            }
            classifyNVGRE(p, outerEnd: outerEnd, into: &c, snapshot: s)
            // ICMP inside NVGRE: only frames the NVGRE path rejected as `unsupported`.
            if c.kind == .done, c.verdict == .drop(.unsupported) {
                classifyInnerICMP(&packet, outerEnd: outerEnd, into: &c, snapshot: s)
            }
            return
        }
        guard toExternal else { return c.finish(.drop(.notForUs)) }

        // docs/packets.md "External client to public VIP": plain IPv4 from the Internet to a public VIP.
        c.vsid = 0
        c.ethernet = 0
        if let drop = parseTransport(p, ip: EthernetHeader.size, end: outerEnd, into: &c) {
            if drop == .unsupported, c.protocolNumber == icmp {
                return classifyExternalICMP(&packet, end: outerEnd, into: &c, snapshot: s)
            }
            return c.finish(.drop(drop))
        }
        let vip = s.addressIndex.find(AddressMap.key(vsid: 0, address: c.destination)).vip
        guard vip >= 0 else { return c.finish(.drop(.noVIP)) }
        let listener = s.listener(vip: vip, protocolNumber: c.protocolNumber, port: c.destinationPort)
        guard listener >= 0 else { return c.finish(.drop(.noRule)) }
        c.kind = .externalRequest
        c.listener = listener
        c.hash = s.hasher.flowHash(protocolNumber: c.protocolNumber, clientIP: c.source, clientPort: c.sourcePort)
    }

    /// NVGRE received at nvlb's PA (docs/packets.md "What nvlb accepts"): GRE checks, VSID, inner frame, then
    /// request to a CA VIP or reply from a DIP, with the spoofing checks of docs/packets.md "Spoofing checks and tenant isolation".
    @inlinable
    static func classifyNVGRE(
        _ p: UnsafeMutableRawPointer, outerEnd: Int, into c: inout Classification, snapshot s: PolicySnapshot
    ) {
        if classifyNVGREFast(p, outerEnd: outerEnd, into: &c, snapshot: s) { return }
        classifyNVGREChecked(p, outerEnd: outerEnd, into: &c, snapshot: s)
    }

    /// The common case of `classifyNVGRE` with two `addressIndex` probes, (VSID,
    /// source) and (VSID, destination), instead of the three or four map lookups of
    /// `classifyNVGREChecked`. Returns true when the frame is a valid request or reply
    /// whose sender is its own lookup record; anything else (every drop, a client
    /// found only through its routing domain) returns false without a verdict and is
    /// classified again by `classifyNVGREChecked`, which names the drop reason. The
    /// checks are the same, so a frame accepted here is classified identically.
    @inlinable @inline(__always)
    static func classifyNVGREFast(
        _ p: UnsafeMutableRawPointer, outerEnd: Int, into c: inout Classification, snapshot s: PolicySnapshot
    ) -> Bool {
        let outer = IPv4Header(p + EthernetHeader.size)
        if outer.isFragment { return false }
        let gre = EthernetHeader.size &+ outer.headerLength
        guard gre &+ GREHeader.size <= outerEnd else { return false }
        let header = GREHeader(p + gre)
        guard header.flagsVersion == GREHeader.nvgreFlagsVersion,
            header.protocolType == GREHeader.protocolTransparentEthernet
        else { return false }
        let vsid = header.vsid
        if VSID.isReserved(vsid) { return false }
        let inner = gre &+ GREHeader.size
        guard inner &+ EthernetHeader.size <= outerEnd else { return false }
        let innerEthernet = EthernetHeader(p + inner)
        guard innerEthernet.etherType == EthernetHeader.etherTypeIPv4 else { return false }
        let innerIP = inner &+ EthernetHeader.size
        let innerEnd = validIPv4(p, offset: innerIP, end: outerEnd)
        guard innerEnd > 0 else { return false }
        c.vsid = vsid
        c.ethernet = inner
        if parseTransport(p, ip: innerIP, end: innerEnd, into: &c) != nil { return false }

        // The sender: the VSID's domain (the inner destination must be its gateway MAC)
        // and its lookup record for the spoofing checks of docs/packets.md "Spoofing checks and tenant isolation".
        // Every entry of a VSID carries its domain; a client in another VSID of the
        // domain has no entry of its own in the request's VSID, its VIP has.
        let sender = s.addressIndex.find(AddressMap.key(vsid: vsid, address: c.source))
        let target = s.addressIndex.find(AddressMap.key(vsid: vsid, address: c.destination))
        let domain = max(sender.domain, target.domain)
        guard domain >= 0, innerEthernet.destination.rawValue == s.domains[Int(domain)].gatewayMAC
        else { return false }
        let vip = target.vip
        var record = sender.record
        let listener: Int32
        if vip >= 0 {
            listener = s.listener(vip: vip, protocolNumber: c.protocolNumber, port: c.destinationPort)
            guard listener >= 0 else { return false }
            // A client may sit in another VSID of the routing domain.
            if record < 0 {
                record = s.domainCAIndex.find(UInt64(UInt32(bitPattern: domain)) << 32 | UInt64(c.source)) ?? -1
            }
        } else {
            listener = -1
        }
        guard record >= 0 else { return false }
        let r = s.records.pointer(Int(record))
        guard r.pointee.pa == outer.source.rawValue, r.pointee.mac == innerEthernet.source.rawValue else {
            return false
        }
        c.record = record
        if listener >= 0 {
            c.kind = .internalRequest
            c.listener = listener
            c.hash = s.hasher.flowHash(protocolNumber: c.protocolNumber, clientIP: c.source, clientPort: c.sourcePort)
        } else {
            c.kind = isProbeReply(c, domain: domain, snapshot: s) ? .probeReply : .reply
            c.hash = s.hasher.flowHash(
                protocolNumber: c.protocolNumber, clientIP: c.destination, clientPort: c.destinationPort)
        }
        return true
    }

    /// `classifyNVGRE` step by step over the separate indexes: the reference
    /// semantics, and the path that names every drop reason.
    @inlinable
    static func classifyNVGREChecked(
        _ p: UnsafeMutableRawPointer, outerEnd: Int, into c: inout Classification, snapshot s: PolicySnapshot
    ) {
        let outer = IPv4Header(p + EthernetHeader.size)
        if outer.isFragment { return c.finish(.drop(.fragment)) }
        let gre = EthernetHeader.size + outer.headerLength
        guard gre + GREHeader.size <= outerEnd else { return c.finish(.drop(.malformed)) }
        let header = GREHeader(p + gre)
        guard header.flagsVersion == GREHeader.nvgreFlagsVersion,
            header.protocolType == GREHeader.protocolTransparentEthernet
        else { return c.finish(.drop(.badGRE)) }
        let vsid = header.vsid
        if VSID.isReserved(vsid) { return c.finish(.drop(.reservedVSID)) }
        guard let domain = s.vsidIndex.find(UInt64(vsid)) else { return c.finish(.drop(.unknownVSID)) }

        let inner = gre + GREHeader.size
        guard inner + EthernetHeader.size <= outerEnd else { return c.finish(.drop(.malformed)) }
        let innerEthernet = EthernetHeader(p + inner)
        let innerType = innerEthernet.etherType
        if innerType == EthernetHeader.etherTypeVLAN || innerType == EthernetHeader.etherTypeQinQ {
            return c.finish(.drop(.innerVLAN))
        }
        guard innerType == EthernetHeader.etherTypeIPv4 else { return c.finish(.drop(.unsupported)) }
        guard innerEthernet.destination.rawValue == s.domains[Int(domain)].gatewayMAC else {
            return c.finish(.drop(.notForUs))
        }
        let innerIP = inner + EthernetHeader.size
        let innerEnd = validIPv4(p, offset: innerIP, end: outerEnd)
        guard innerEnd > 0 else { return c.finish(.drop(.malformed)) }

        c.vsid = vsid
        c.ethernet = inner
        if let drop = parseTransport(p, ip: innerIP, end: innerEnd, into: &c) { return c.finish(.drop(drop)) }
        let outerSource = outer.source.rawValue
        let sourceMAC = innerEthernet.source.rawValue

        let listener = s.frontend(
            vsid: vsid, vip: c.destination, protocolNumber: c.protocolNumber, port: c.destinationPort)
        if listener >= 0 {
            // docs/packets.md "Internal client to CA VIP": the client must be who its lookup record says.
            guard let record = s.record(vsid: vsid, ca: c.source) ?? s.record(domain: domain, ca: c.source),
                s.records[record].pa == outerSource, s.records[record].mac == sourceMAC
            else { return c.finish(.drop(.spoofed)) }
            c.kind = .internalRequest
            c.listener = listener
            c.record = Int32(truncatingIfNeeded: record)
            c.hash = s.hasher.flowHash(protocolNumber: c.protocolNumber, clientIP: c.source, clientPort: c.sourcePort)
            return
        }
        if listener == PolicySnapshot.noRuleForPort { return c.finish(.drop(.noRule)) }
        // docs/packets.md "DIP reply to internal client": a reply must come from the DIP's host with the DIP's MAC.
        guard let record = s.record(vsid: vsid, ca: c.source),
            s.records[record].pa == outerSource, s.records[record].mac == sourceMAC
        else { return c.finish(.drop(.spoofed)) }
        c.kind = isProbeReply(c, domain: Int32(truncatingIfNeeded: domain), snapshot: s) ? .probeReply : .reply
        c.record = Int32(truncatingIfNeeded: record)
        c.hash = s.hasher.flowHash(
            protocolNumber: c.protocolNumber, clientIP: c.destination, clientPort: c.destinationPort)
    }

    /// Checks an IPv4 header at `offset` (version, IHL, total length within `end`).
    /// Returns the offset where the IPv4 packet ends (total length honoured, link
    /// padding excluded), or 0 when malformed.
    @inlinable @inline(__always)
    static func validIPv4(_ p: UnsafeMutableRawPointer, offset: Int, end: Int) -> Int {
        guard offset + IPv4Header.minimumSize <= end else { return 0 }
        let ip = IPv4Header(p + offset)
        let headerLength = ip.headerLength
        let totalLength = Int(ip.totalLength)
        guard ip.version == 4, headerLength >= IPv4Header.minimumSize, totalLength >= headerLength,
            offset + totalLength <= end
        else { return 0 }
        return offset + totalLength
    }

    /// Reads the addresses, protocol and ports of the IPv4 packet at `ip` into `c`.
    /// Returns the drop reason for fragments, other protocols and truncated headers.
    @inlinable @inline(__always)
    static func parseTransport(_ p: UnsafeMutableRawPointer, ip: Int, end: Int, into c: inout Classification)
        -> DropReason?
    {
        let header = IPv4Header(p + ip)
        // A non-first fragment has no ports; a first fragment is balanced by its ports.
        if header.fragmentOffset != 0 { return .fragment }
        let proto = header.protocolNumber
        let transport = ip + header.headerLength
        c.ip = ip
        c.transport = transport
        c.ipLength = Int(header.totalLength)
        c.protocolNumber = proto
        c.source = header.source.rawValue
        c.destination = header.destination.rawValue
        if proto == TransportProtocol.tcp.rawValue {
            guard transport + TCPHeader.minimumSize <= end else { return .malformed }
            let tcp = TCPHeader(p + transport)
            let dataOffset = tcp.headerLength
            guard dataOffset >= TCPHeader.minimumSize, header.moreFragments || transport + dataOffset <= end else {
                return .malformed
            }
            c.sourcePort = tcp.sourcePort
            c.destinationPort = tcp.destinationPort
            c.tcpFlags = tcp.flags.rawValue
        } else if proto == TransportProtocol.udp.rawValue {
            guard transport + UDPHeader.size <= end else { return .malformed }
            let udp = UDPHeader(p + transport)
            let length = Int(udp.length)
            guard length >= UDPHeader.size, header.moreFragments || transport + length <= end else { return .malformed }
            c.sourcePort = udp.sourcePort
            c.destinationPort = udp.destinationPort
        } else {
            return .unsupported
        }
        return nil
    }
}
