import NVLBBalancing
import NVLBPolicy
import NVLBWire

// ICMP errors follow their flow (docs/packets.md "ICMP and path MTU"): the quoted packet
// names the flow; the error is rewritten as the flow's packets are (outer addresses,
// quoted header with its checksums, ICMP checksum) and sent where they go. No state is
// created for an error.

extension DataplaneWorker {
    /// An error from the client's side (a router on the Internet path, or an internal
    /// client) about a packet nvlb sent to the client → the flow's DIP, as if from the DIP's
    /// own path: destination VIP → DIP CA, quoted VIP:P → DIP CA:backend port.
    @inlinable @inline(never)
    mutating func forwardClientICMPError(
        _ packet: inout Packet, _ c: Classification, snapshot s: PolicySnapshot, now: UInt32
    ) -> Verdict {
        let clientVSID = c.vsid == 0 ? 0 : s.records[Int(c.record)].vsid
        let listener = s.listeners[Int(c.listener)]
        let rule = s.rules[Int(listener.rule)]
        let dipVSID: UInt32
        let dipCA: UInt32
        let backendPort: UInt16
        let flowID: UInt8
        if let slot = flows.findRequest(
            hash: c.hash, protocolNumber: c.protocolNumber, clientIP: c.source, clientPort: c.sourcePort,
            clientVSID: clientVSID, vip: c.destination, vipPort: c.destinationPort, now: now)
        {
            let entry = flows[slot: slot]
            dipVSID = entry.pointee.dipVSID
            dipCA = entry.pointee.dipCA
            backendPort = entry.pointee.backendPort
            flowID = entry.pointee.requestFlowID
        } else {
            // No state: the DIP a request of this flow would get (the same on every instance).
            guard
                let chosen = s.selectBackend(
                    rule: Int(listener.rule), hash: selectionHash(c, rule: rule, clientVSID: clientVSID, snapshot: s))
            else { return .drop(.noFlow) }
            dipVSID = s.backends[chosen].vsid
            dipCA = s.backends[chosen].ca
            backendPort = rule.backendPort
            flowID = Self.flowID(
                s, protocolNumber: c.protocolNumber, source: c.source, sourcePort: c.sourcePort, destination: dipCA,
                destinationPort: backendPort)
        }
        guard let dip = s.record(vsid: dipVSID, ca: dipCA) else { return .drop(.noFlow) }
        let innerLength = EthernetHeader.size + c.ipLength
        guard IPv4Header.minimumSize + GREHeader.size + innerLength <= s.mtu else { return .drop(.tooBig) }
        let record = s.records.pointer(dip)
        let nextHop = nextHop(record)
        guard nextHop != 0 else { return .drop(.neighborUnresolved) }

        let p = packet.bytes
        Self.rewriteQuote(p, c, source: true, address: dipCA, port: backendPort)
        Self.setAddress(p + c.ip, offset: 16, to: dipCA)
        ICMPHeader(p + c.transport).updateChecksum(length: c.ip + c.ipLength - c.transport)
        let ethernet = EthernetHeader(p + c.ethernet)
        ethernet.destination = MACAddress(rawValue: record.pointee.mac)
        ethernet.source = MACAddress(rawValue: s.domains[Int(record.pointee.domain)].gatewayMAC)
        let outer = c.ethernet - Rewrite.encapsulationSize
        Rewrite.encapsulate(
            at: p + outer, sourceMAC: s.underlayMAC, destinationMAC: nextHop, source: s.underlayAddress,
            destination: record.pointee.pa, tos: IPv4Header(p + c.ip).tos, ttl: s.ttl, innerLength: innerLength,
            key: dipVSID << 8 | UInt32(flowID), checksumBase: s.outerChecksumBase)
        packet.start += outer
        packet.length = Rewrite.encapsulationSize + innerLength
        counters.add(.icmpErrorsForwarded)
        return .forward(.underlay)
    }

    /// An error from a DIP's side about a packet nvlb forwarded to the DIP → the flow's
    /// client, as the flow's replies: source → VIP, quoted DIP CA:backend port → VIP:P;
    /// plain IPv4 to an external client, NVGRE into an internal client's VSID.
    @inlinable @inline(never)
    mutating func forwardBackendICMPError(
        _ packet: inout Packet, _ c: Classification, snapshot s: PolicySnapshot, now: UInt32
    ) -> Verdict {
        let vip: UInt32
        let vipPort: UInt16
        let clientVSID: UInt32
        let flowID: UInt8
        if let slot = flows.findReply(
            hash: c.hash, protocolNumber: c.protocolNumber, clientIP: c.destination, clientPort: c.destinationPort,
            dipVSID: c.vsid, dipCA: c.source, backendPort: c.sourcePort, now: now)
        {
            let entry = flows[slot: slot]
            vip = entry.pointee.vip
            vipPort = entry.pointee.vipPort
            clientVSID = entry.pointee.clientVSID
            flowID = entry.pointee.replyFlowID
        } else {
            // No state: the flow is rebuilt as a reply's would be (docs/packets.md "Replies and flow state").
            let rebuilt = Self.rebuildReply(c, snapshot: s)
            guard rebuilt.listener >= 0 else { return .drop(.noFlow) }
            clientVSID = rebuilt.clientVSID
            vip = rebuilt.vip
            vipPort = rebuilt.vipPort
            flowID = rebuilt.flowID
        }

        let p = packet.bytes
        let innerLength = EthernetHeader.size + c.ipLength
        if clientVSID == 0 {
            guard s.hasExternal else { return .drop(.noFlow) }
            Self.rewriteBackendError(p, c, vip: vip, vipPort: vipPort)
            let ethernet = EthernetHeader(p + c.ethernet)
            ethernet.destination = MACAddress(rawValue: s.externalGatewayMAC)
            ethernet.source = MACAddress(rawValue: s.externalMAC)
            packet.start += c.ethernet
            packet.length = innerLength
            counters.add(.icmpErrorsForwarded)
            return .forward(.external)
        }
        guard IPv4Header.minimumSize + GREHeader.size + innerLength <= s.mtu else { return .drop(.tooBig) }
        let clientRecord = s.addressIndex.find(AddressMap.key(vsid: clientVSID, address: c.destination)).record
        guard clientRecord >= 0 else { return .drop(.noFlow) }
        let record = s.records.pointer(Int(clientRecord))
        let nextHop = nextHop(record)
        guard nextHop != 0 else { return .drop(.neighborUnresolved) }
        Self.rewriteBackendError(p, c, vip: vip, vipPort: vipPort)
        let ethernet = EthernetHeader(p + c.ethernet)
        ethernet.destination = MACAddress(rawValue: record.pointee.mac)
        ethernet.source = MACAddress(rawValue: s.domains[Int(record.pointee.domain)].gatewayMAC)
        let outer = c.ethernet - Rewrite.encapsulationSize
        Rewrite.encapsulate(
            at: p + outer, sourceMAC: s.underlayMAC, destinationMAC: nextHop, source: s.underlayAddress,
            destination: record.pointee.pa, tos: IPv4Header(p + c.ip).tos, ttl: s.ttl, innerLength: innerLength,
            key: clientVSID << 8 | UInt32(flowID), checksumBase: s.outerChecksumBase)
        packet.start += outer
        packet.length = Rewrite.encapsulationSize + innerLength
        counters.add(.icmpErrorsForwarded)
        return .forward(.underlay)
    }

    /// The rewrite of an error from a DIP's side: the sender becomes the VIP (tenant
    /// addresses never reach the client) and the quote shows VIP:P as the destination.
    @inlinable
    static func rewriteBackendError(_ p: UnsafeMutableRawPointer, _ c: Classification, vip: UInt32, vipPort: UInt16) {
        rewriteQuote(p, c, source: false, address: vip, port: vipPort)
        setAddress(p + c.ip, offset: 12, to: vip)
        ICMPHeader(p + c.transport).updateChecksum(length: c.ip + c.ipLength - c.transport)
    }

    /// Replaces the quoted packet's source (`source`) or destination address and port,
    /// updating the quoted IP header checksum and, when the quote holds it, the quoted
    /// TCP/UDP checksum (RFC 1624), as `Rewrite.translate` does for a whole packet.
    @inlinable
    static func rewriteQuote(
        _ p: UnsafeMutableRawPointer, _ c: Classification, source: Bool, address: UInt32, port: UInt16
    ) {
        let quote = c.transport + ICMPHeader.size
        let transport = quote + IPv4Header(p + quote).headerLength
        let available = c.ip + c.ipLength - transport
        if c.protocolNumber == TransportProtocol.udp.rawValue
            || available >= TCPHeader.checksumOffset + 2
        {
            Rewrite.translate(
                p, ip: quote, transport: transport, protocolNumber: c.protocolNumber, source: source, address: address,
                port: port)
        } else {
            // A TCP quote of 8 bytes: no checksum to update.
            setAddress(p + quote, offset: source ? 12 : 16, to: address)
            (p + transport).storeBigEndian(port, toByteOffset: source ? 0 : 2)
        }
    }

    /// Sets the address at `offset` of the IPv4 header at `header`, updating its checksum.
    @inlinable
    static func setAddress(_ header: UnsafeMutableRawPointer, offset: Int, to address: UInt32) {
        let old = header.loadBigEndian(fromByteOffset: offset, as: UInt32.self)
        header.storeBigEndian(address, toByteOffset: offset)
        let checksum = header.loadBigEndian(fromByteOffset: IPv4Header.checksumOffset, as: UInt16.self)
        header.storeBigEndian(
            Checksum.updated(checksum, replacing32: old, with32: address), toByteOffset: IPv4Header.checksumOffset)
    }
}
