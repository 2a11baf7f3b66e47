import NVLBBalancing
import NVLBPolicy
import NVLBWire

// Requests that would not fit `underlay.mtu` once encapsulated (docs/packets.md "ICMP and
// path MTU"): with DF set the client is told the path MTU by ICMP "fragmentation needed";
// with DF clear the inner packet is fragmented (RFC 791) and every fragment encapsulated.

extension DataplaneWorker {
    /// The longest IPv4 header (IHL 15).
    @usableFromInline static let maximumIPv4Header = 60

    /// The inner IPv4 datagram that fits `underlay.mtu` once encapsulated: the next-hop MTU
    /// nvlb announces.
    @inlinable @inline(__always)
    static func innerMTU(_ s: PolicySnapshot) -> Int { s.mtu - Rewrite.encapsulationSize }

    /// A request too big to encapsulate: the verdict when DF is set (an ICMP answer, or
    /// `too_big` over `underlay.icmp_rate`); nil when DF is clear and the caller fragments.
    @inlinable @inline(never)
    mutating func tooBig(_ packet: inout Packet, _ c: Classification, snapshot s: PolicySnapshot, now: UInt32)
        -> Verdict?
    {
        guard IPv4Header(packet.bytes + c.ip).dontFragment else {
            return Self.fragmentsFit(c, snapshot: s) ? nil : .drop(.tooBig)
        }
        return answerFragmentationNeeded(&packet, c, snapshot: s, now: now)
    }

    /// True when every fragment of `c`'s datagram can carry at least 8 bytes of data
    /// (always with `underlay.mtu` ≥ 576; checked so that no configuration loops).
    @inlinable
    static func fragmentsFit(_ c: Classification, snapshot s: PolicySnapshot) -> Bool {
        innerMTU(s) - Self.maximumIPv4Header >= 8
    }

    /// Takes one token of `underlay.icmp_rate` (per worker, refilled each second of the
    /// flow clock). False when none is left.
    @inlinable
    mutating func takeICMPToken(snapshot s: PolicySnapshot, now: UInt32) -> Bool {
        if now != icmpSecond || !icmpClockStarted {
            icmpSecond = now
            icmpClockStarted = true
            icmpTokens = s.icmpRate
        }
        guard icmpTokens > 0 else { return false }
        icmpTokens &-= 1
        return true
    }

    /// Answers a too-big DF request with ICMP type 3 code 4 from the VIP to the client,
    /// next-hop MTU `underlay.mtu` − 42, quoting the request's IP header and 8 bytes, built
    /// in place in front of the quote: plain IPv4 to `external.gateway_mac` for an external
    /// client, NVGRE into the client's VSID toward its host for an internal one.
    @inlinable
    mutating func answerFragmentationNeeded(
        _ packet: inout Packet, _ c: Classification, snapshot s: PolicySnapshot, now: UInt32
    ) -> Verdict {
        let toInternalClient = c.kind == .internalRequest
        var nextHop: UInt64 = 0
        if toInternalClient {
            nextHop = self.nextHop(s.records.pointer(Int(c.record)))
            guard nextHop != 0 else { return .drop(.neighborUnresolved) }
        }
        guard takeICMPToken(snapshot: s, now: now) else { return .drop(.tooBig) }
        let p = packet.bytes
        let quoteLength = c.transport - c.ip + 8
        let messageLength = IPv4Header.minimumSize + ICMPHeader.size + quoteLength
        let ip = c.ip - IPv4Header.minimumSize - ICMPHeader.size
        let header = p + ip
        // Version 4, IHL 5, precedence "internetwork control" (RFC 1812 §4.3.2.5); no DF.
        header.storeBigEndian(UInt16(0x45C0), toByteOffset: 0)
        header.storeBigEndian(UInt16(truncatingIfNeeded: messageLength), toByteOffset: 2)
        header.storeBigEndian(UInt32(0), toByteOffset: 4)
        header.storeBigEndian(UInt16(s.ttl) << 8 | UInt16(Self.icmp), toByteOffset: 8)
        header.storeBigEndian(UInt16(0), toByteOffset: IPv4Header.checksumOffset)
        header.storeBigEndian(c.destination, toByteOffset: 12)
        header.storeBigEndian(c.source, toByteOffset: 16)
        IPv4Header(header).updateChecksum()
        let message = ICMPHeader(p + c.ip - ICMPHeader.size)
        message.type = ICMPHeader.typeDestinationUnreachable
        message.code = ICMPHeader.codeFragmentationNeeded
        message.restOfHeader = UInt32(truncatingIfNeeded: Self.innerMTU(s))
        message.updateChecksum(length: ICMPHeader.size + quoteLength)
        counters.add(.fragmentationNeeded)

        let ethernet = EthernetHeader(p + ip - EthernetHeader.size)
        ethernet.etherType = EthernetHeader.etherTypeIPv4
        guard toInternalClient else {
            ethernet.destination = MACAddress(rawValue: s.externalGatewayMAC)
            ethernet.source = MACAddress(rawValue: s.externalMAC)
            packet.start += ip - EthernetHeader.size
            packet.length = EthernetHeader.size + messageLength
            return .answer(.external)
        }
        let record = s.records.pointer(Int(c.record))
        ethernet.destination = MACAddress(rawValue: record.pointee.mac)
        ethernet.source = MACAddress(rawValue: s.domains[Int(record.pointee.domain)].gatewayMAC)
        let flowID = Self.flowID(
            s, protocolNumber: c.protocolNumber, source: c.destination, sourcePort: c.destinationPort,
            destination: c.source, destinationPort: c.sourcePort)
        let outer = ip - EthernetHeader.size - Rewrite.encapsulationSize
        Rewrite.encapsulate(
            at: p + outer, sourceMAC: s.underlayMAC, destinationMAC: nextHop, source: s.underlayAddress,
            destination: record.pointee.pa, tos: 0xC0, ttl: s.ttl, innerLength: EthernetHeader.size + messageLength,
            key: record.pointee.vsid << 8 | UInt32(flowID), checksumBase: s.outerChecksumBase)
        packet.start += outer
        packet.length = Rewrite.encapsulationSize + EthernetHeader.size + messageLength
        return .answer(.underlay)
    }

    /// Fragments the translated inner datagram (`c`'s, inner Ethernet already rewritten)
    /// so that each fragment fits `underlay.mtu` once encapsulated, and encapsulates each
    /// toward `destination`: the first in place, the others into `fragments` (RFC 791:
    /// offsets in 8-byte units, MF on all but the last unless the datagram was itself a
    /// first fragment, only options with the copied flag after the first fragment, each
    /// header's checksum).
    @inlinable @inline(never)
    mutating func encapsulateFragments(
        _ packet: inout Packet, _ c: Classification, snapshot s: PolicySnapshot, nextHop: UInt64,
        destination: UInt32, key: UInt32, port: Port
    ) -> Verdict {
        let p = packet.bytes
        let header = p + c.ip
        let headerLength = c.transport - c.ip
        let payload = c.ipLength - headerLength
        let maximum = Self.innerMTU(s)
        let firstData = (maximum - headerLength) & ~7
        // Worst case for the others: a 60-byte header each.
        let restData = (maximum - Self.maximumIPv4Header) & ~7
        let worstFrames = (payload - firstData + restData - 1) / restData
        let frameOverhead = Rewrite.encapsulationSize + EthernetHeader.size + Self.maximumIPv4Header
        guard fragments.hasRoom(frames: worstFrames, totalBytes: payload + worstFrames * frameOverhead) else {
            return .drop(.tooBig)
        }
        let ipv4 = IPv4Header(header)
        let tos = ipv4.tos
        let moreAfterLast = ipv4.moreFragments
        let first = fragments.count
        var template: UnsafeMutableRawPointer?
        var restHeaderLength = 0
        var offset = firstData
        while offset < payload {
            let frame = fragments.next
            let inner = frame + Rewrite.encapsulationSize
            let ip = inner + EthernetHeader.size
            if let template {
                ip.copyMemory(from: template, byteCount: restHeaderLength)
            } else {
                restHeaderLength = IPv4Fragmentation.writeFragmentHeader(
                    from: header, headerLength: headerLength, to: ip)
                template = ip
            }
            let dataLength = min((maximum - restHeaderLength) & ~7, payload - offset)
            let last = offset + dataLength >= payload
            inner.copyMemory(from: p + c.ethernet, byteCount: EthernetHeader.size)
            (ip + restHeaderLength).copyMemory(from: header + headerLength + offset, byteCount: dataLength)
            IPv4Fragmentation.finish(
                ip, headerLength: restHeaderLength, totalLength: restHeaderLength + dataLength,
                moreFragments: !last || moreAfterLast, offset: offset)
            let innerLength = EthernetHeader.size + restHeaderLength + dataLength
            Rewrite.encapsulate(
                at: frame, sourceMAC: s.underlayMAC, destinationMAC: nextHop, source: s.underlayAddress,
                destination: destination, tos: tos, ttl: s.ttl, innerLength: innerLength, key: key,
                checksumBase: s.outerChecksumBase)
            fragments.commit(length: Rewrite.encapsulationSize + innerLength)
            offset += dataLength
        }
        // The first fragment stays where the datagram is.
        IPv4Fragmentation.finish(
            header, headerLength: headerLength, totalLength: headerLength + firstData, moreFragments: true, offset: 0)
        let innerLength = EthernetHeader.size + headerLength + firstData
        let outer = c.ethernet - Rewrite.encapsulationSize
        Rewrite.encapsulate(
            at: p + outer, sourceMAC: s.underlayMAC, destinationMAC: nextHop, source: s.underlayAddress,
            destination: destination, tos: tos, ttl: s.ttl, innerLength: innerLength, key: key,
            checksumBase: s.outerChecksumBase)
        packet.start += outer
        packet.length = Rewrite.encapsulationSize + innerLength
        return .forwardFragments(
            port, first: UInt16(truncatingIfNeeded: first), count: UInt16(truncatingIfNeeded: fragments.count - first))
    }
}
