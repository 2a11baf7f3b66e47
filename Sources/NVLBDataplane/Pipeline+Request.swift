import NVLBBalancing
import NVLBPolicy
import NVLBWire

extension DataplaneWorker {
    /// docs/packets.md "Packet paths": a client's packet to a VIP → the chosen DIP, NVGRE-encapsulated.
    @inlinable
    mutating func forwardRequest(_ packet: inout Packet, _ c: Classification, snapshot s: PolicySnapshot, now: UInt32)
        -> Verdict
    {
        let listener = s.listeners[Int(c.listener)]
        let ruleIndex = Int(listener.rule)
        let rule = s.rules[ruleIndex]
        let innerLength = EthernetHeader.size + c.ipLength
        // Too big once encapsulated: ICMP "fragmentation needed" (DF) or fragments (docs/packets.md).
        let fits = IPv4Header.minimumSize + GREHeader.size + innerLength <= s.mtu
        if !fits, let verdict = tooBig(&packet, c, snapshot: s, now: now) { return verdict }
        let clientVSID = c.kind == .internalRequest ? s.records[Int(c.record)].vsid : 0
        let isTCP = c.protocolNumber == TransportProtocol.tcp.rawValue

        let backend: Int
        var backendPort = rule.backendPort
        var flowID: UInt8
        if let slot = flows.findRequest(
            hash: c.hash, protocolNumber: c.protocolNumber, clientIP: c.source, clientPort: c.sourcePort,
            clientVSID: clientVSID, vip: c.destination, vipPort: c.destinationPort, now: now)
        {
            let entry = flows[slot: slot]
            if entry.pointee.generation == s.generation {
                backend = Int(entry.pointee.backendSlot)
            } else {
                // A new policy: keep the flow on its DIP while the DIP is still a
                // backend of the rule (even drained); re-home it only when it is gone.
                // A DIP down for the rule's probe loses its flows (docs/health.md).
                if let kept = s.backendIndex(
                    loadBalancer: Int(rule.loadBalancer), vsid: entry.pointee.dipVSID, ca: entry.pointee.dipCA),
                    !s.isDown(rule: ruleIndex, backend: kept)
                {
                    // The open connection stays on its DIP and its backend port.
                    backend = kept
                } else {
                    guard
                        let chosen = s.selectBackend(
                            rule: ruleIndex, hash: selectionHash(c, rule: rule, clientVSID: clientVSID, snapshot: s))
                    else { return .drop(.noBackend) }
                    backend = chosen
                    entry.pointee.dipVSID = s.backends[backend].vsid
                    entry.pointee.dipCA = s.backends[backend].ca
                    entry.pointee.backendPort = rule.backendPort
                    entry.pointee.requestFlowID = Self.flowID(
                        s, protocolNumber: c.protocolNumber, source: c.source, sourcePort: c.sourcePort,
                        destination: entry.pointee.dipCA, destinationPort: rule.backendPort)
                }
                entry.pointee.backendSlot = UInt32(truncatingIfNeeded: backend)
                entry.pointee.listener = UInt32(truncatingIfNeeded: c.listener)
                entry.pointee.clientRecord = c.kind == .internalRequest ? c.record : -1
                entry.pointee.generation = s.generation
                entry.pointee.idleTimeout = rule.idleTimeout
            }
            entry.pointee.touch(now: now)
            backendPort = entry.pointee.backendPort
            flowID = entry.pointee.requestFlowID
            if isTCP {
                // A new SYN on a closed connection's 5-tuple starts a new connection.
                if c.tcpFlags & 0x12 == 0x02,
                    entry.pointee.state.contains(.reset)
                        || entry.pointee.state.contains([.clientFIN, .backendFIN])
                {
                    entry.pointee.state = []
                }
                entry.pointee.observeTCP(flags: c.tcpFlags, fromClient: true)
            } else {
                entry.pointee.observeUDP(fromClient: true)
            }
        } else {
            guard
                let chosen = s.selectBackend(
                    rule: ruleIndex, hash: selectionHash(c, rule: rule, clientVSID: clientVSID, snapshot: s))
            else { return .drop(.noBackend) }
            backend = chosen
            let dip = s.backends[backend]
            flowID = Self.flowID(
                s, protocolNumber: c.protocolNumber, source: c.source, sourcePort: c.sourcePort, destination: dip.ca,
                destinationPort: rule.backendPort)
            var entry = FlowEntry(
                hash: c.hash, lastSeen: now, protocolNumber: c.protocolNumber, clientIP: c.source,
                clientPort: c.sourcePort, clientVSID: clientVSID, vip: c.destination, vipPort: c.destinationPort,
                dipVSID: dip.vsid, dipCA: dip.ca, backendPort: rule.backendPort,
                backendSlot: UInt32(truncatingIfNeeded: backend), generation: s.generation,
                idleTimeout: rule.idleTimeout, requestFlowID: flowID,
                replyFlowID: clientVSID == 0
                    ? 0
                    : Self.flowID(
                        s, protocolNumber: c.protocolNumber, source: c.destination, sourcePort: c.destinationPort,
                        destination: c.source, destinationPort: c.sourcePort),
                listener: UInt32(truncatingIfNeeded: c.listener),
                clientRecord: c.kind == .internalRequest ? c.record : -1)
            if isTCP {
                entry.observeTCP(flags: c.tcpFlags, fromClient: true)
            } else {
                entry.observeUDP(fromClient: true)
            }
            switch flows.insert(entry, hash: c.hash, now: now) {
            case .inserted, .evicted: counters.flowCreated()
            case .full: counters.statelessForward()
            }
        }

        let dip = s.backends[backend]
        let record = s.records.pointer(Int(dip.record))
        let nextHop = nextHop(record)
        guard nextHop != 0 else { return .drop(.neighborUnresolved) }
        let p = packet.bytes
        clampMSS(p, c, snapshot: s)
        let ethernet = EthernetHeader(p + c.ethernet)
        ethernet.destination = MACAddress(rawValue: record.pointee.mac)
        ethernet.source = MACAddress(rawValue: s.domains[Int(record.pointee.domain)].gatewayMAC)
        Rewrite.translate(
            p, ip: c.ip, transport: c.transport, protocolNumber: c.protocolNumber, source: false, address: dip.ca,
            port: backendPort)
        if !fits {
            counters.toBackend(backend)
            return encapsulateFragments(
                &packet, c, snapshot: s, nextHop: nextHop, destination: record.pointee.pa,
                key: dip.vsid << 8 | UInt32(flowID), port: .underlay)
        }
        let outer = c.ethernet - Rewrite.encapsulationSize
        Rewrite.encapsulate(
            at: p + outer, sourceMAC: s.underlayMAC, destinationMAC: nextHop, source: s.underlayAddress,
            destination: record.pointee.pa, tos: IPv4Header(p + c.ip).tos, ttl: s.ttl, innerLength: innerLength,
            key: dip.vsid << 8 | UInt32(flowID), checksumBase: s.outerChecksumBase)
        packet.start &+= outer
        packet.length = Rewrite.encapsulationSize + innerLength
        counters.toBackend(backend)
        counters.vipRequest(Int(c.listener), bytes: c.ipLength)
        return .forward(.underlay)
    }

    /// The Maglev input for a new flow under `rule`'s load distribution.
    @inlinable @inline(__always)
    func selectionHash(_ c: Classification, rule: CompiledRule, clientVSID: UInt32, snapshot s: PolicySnapshot)
        -> UInt64
    {
        s.hasher.selectionHash(
            distribution: rule.distribution, protocolNumber: c.protocolNumber, clientIP: c.source,
            clientPort: c.sourcePort, vip: c.destination, vipPort: c.destinationPort, clientVSID: clientVSID)
    }
}
