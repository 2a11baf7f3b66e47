import NVLBBalancing
import NVLBWire

/// Probe frames on the wire: NVGRE-encapsulated TCP between `probe_source` and a DIP
/// (docs/health.md). Built with `FrameBuilder` (the prober is control plane: it may
/// allocate); parsed leniently, since a reply may be cut to `ProbeReplyQueue.slotSize`.
public enum ProbeFrame {
    /// The frame carrying `segment` from `probe_source:localPort` to the DIP's port, to
    /// `nextHop` or else the target's static next hop; nil without either.
    public static func build(
        _ segment: ProbeSegment, to target: ProbeTarget, localPort: UInt16, nextHop: MACAddress? = nil
    ) -> [UInt8]? {
        let a = target.addressing
        guard let nextHop = nextHop ?? a.nextHopMAC else { return nil }
        let inner = FrameBuilder.tcp(
            srcMAC: a.gatewayMAC, dstMAC: a.dipMAC, src: a.probeSource, dst: a.dip, sport: localPort,
            dport: target.port, flags: segment.flags, seq: segment.sequence, ack: segment.acknowledgment,
            window: 65_535, tcpOptions: segment.options, payload: segment.payload)
        var flowID: UInt8 = 0
        if let seed = a.flowIDSeed {
            // The FlowID nvlb gives any flow toward a DIP: a hash of the inner 5-tuple.
            flowID = FlowHasher.flowID(
                FlowHasher(seed: seed).selectionHash(
                    distribution: .fiveTuple, protocolNumber: IPv4Header.protocolTCP, clientIP: a.probeSource.rawValue,
                    clientPort: localPort, vip: a.dip.rawValue, vipPort: target.port, clientVSID: 0))
        }
        return FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: a.underlayMAC, outerDestinationMAC: nextHop,
            outerSource: a.underlayAddress, outerDestination: a.hostPA, vsid: a.vsid, flowID: flowID, ttl: a.ttl)
    }

    /// A TCP segment from a DIP as the pipeline hands it over (outer Ethernet/IPv4/NVGRE,
    /// inner Ethernet/IPv4/TCP).
    public struct Reply: Sendable, Equatable {
        public var vsid: UInt32
        public var source: IPv4Address
        public var destination: IPv4Address
        public var sourcePort: UInt16
        public var destinationPort: UInt16
        public var segment: ProbeSegment
    }

    /// Parses a reply frame; nil when it is not NVGRE-encapsulated IPv4/TCP.
    public static func parse(_ frame: [UInt8]) -> Reply? {
        frame.withUnsafeBytes { buffer -> Reply? in
            guard let base = buffer.baseAddress else { return nil }
            let p = UnsafeMutableRawPointer(mutating: base)
            let n = buffer.count
            func u16(_ offset: Int) -> UInt16 { UInt16(buffer[offset]) << 8 | UInt16(buffer[offset + 1]) }
            guard n >= 14 + 20, u16(12) == EthernetHeader.etherTypeIPv4 else { return nil }
            let outer = IPv4Header(p + 14)
            let gre = 14 + outer.headerLength
            guard outer.protocolNumber == IPv4Header.protocolGRE, gre + GREHeader.size + 14 + 20 <= n else {
                return nil
            }
            let header = GREHeader(p + gre)
            guard header.isNVGRE else { return nil }
            let inner = gre + GREHeader.size
            guard u16(inner + 12) == EthernetHeader.etherTypeIPv4 else { return nil }
            let ip = IPv4Header(p + inner + 14)
            let transport = inner + 14 + ip.headerLength
            guard ip.version == 4, ip.protocolNumber == IPv4Header.protocolTCP, transport + TCPHeader.minimumSize <= n
            else { return nil }
            let tcp = TCPHeader(p + transport)
            let payloadStart = transport + tcp.headerLength
            // Honour the inner total length (link padding), within what was kept.
            let payloadEnd = min(n, inner + 14 + Int(ip.totalLength))
            guard tcp.headerLength >= TCPHeader.minimumSize, payloadStart <= payloadEnd else { return nil }
            return Reply(
                vsid: header.vsid, source: ip.source, destination: ip.destination, sourcePort: tcp.sourcePort,
                destinationPort: tcp.destinationPort,
                segment: ProbeSegment(
                    flags: tcp.flags, sequence: tcp.sequenceNumber, acknowledgment: tcp.acknowledgmentNumber,
                    payload: Array(buffer[payloadStart..<payloadEnd])))
        }
    }
}
