import NVLBBalancing
import NVLBPolicy
import NVLBWire

extension DataplaneWorker {
    /// docs/packets.md "Packet paths": a DIP's reply → back to the client, source NAT'd to the VIP:
    /// decapsulated toward an external client, re-encapsulated toward an internal one.
    @inlinable
    mutating func forwardReply(_ packet: inout Packet, _ c: Classification, snapshot s: PolicySnapshot, now: UInt32)
        -> Verdict
    {
        let isTCP = c.protocolNumber == TransportProtocol.tcp.rawValue
        let vip: UInt32
        let vipPort: UInt16
        let clientVSID: UInt32
        let flowID: UInt8
        // The flow's listener (per-VIP counters), or negative when unknown.
        let listener: Int
        // The internal client's lookup record when the flow knows it for this policy, else -1.
        let knownClientRecord: Int32
        if let slot = flows.findReply(
            hash: c.hash, protocolNumber: c.protocolNumber, clientIP: c.destination, clientPort: c.destinationPort,
            dipVSID: c.vsid, dipCA: c.source, backendPort: c.sourcePort, now: now)
        {
            let entry = flows[slot: slot]
            entry.pointee.touch(now: now)
            if isTCP {
                entry.pointee.observeTCP(flags: c.tcpFlags, fromClient: false)
            } else {
                entry.pointee.observeUDP(fromClient: false)
            }
            vip = entry.pointee.vip
            vipPort = entry.pointee.vipPort
            clientVSID = entry.pointee.clientVSID
            // The stored index belongs to the entry's generation; after a reload, look it up.
            listener =
                entry.pointee.generation == s.generation
                ? Int(entry.pointee.listener)
                : Int(s.frontend(vsid: clientVSID, vip: vip, protocolNumber: c.protocolNumber, port: vipPort))
            flowID = entry.pointee.replyFlowID
            knownClientRecord = entry.pointee.generation == s.generation ? entry.pointee.clientRecord : -1
        } else {
            // No state (restart, eviction, ECMP brought the reply to another instance):
            // rebuild it from policy (docs/packets.md "Replies and flow state").
            let rebuilt = Self.rebuildReply(c, snapshot: s)
            guard rebuilt.listener >= 0 else {
                return .drop(rebuilt.listener == PolicySnapshot.notAReply ? .noVIP : .noFlow)
            }
            listener = Int(rebuilt.listener)
            let rule = s.rules[Int(s.listeners[listener].rule)]
            let lb = Int(rule.loadBalancer)
            clientVSID = rebuilt.clientVSID
            vip = rebuilt.vip
            vipPort = rebuilt.vipPort
            flowID = rebuilt.flowID
            knownClientRecord = rebuilt.clientRecord
            let backend = s.backendIndex(loadBalancer: lb, vsid: c.vsid, ca: c.source) ?? 0
            var entry = FlowEntry(
                hash: c.hash, lastSeen: now, protocolNumber: c.protocolNumber, clientIP: c.destination,
                clientPort: c.destinationPort, clientVSID: clientVSID, vip: vip, vipPort: vipPort, dipVSID: c.vsid,
                dipCA: c.source, backendPort: c.sourcePort, backendSlot: UInt32(truncatingIfNeeded: backend),
                generation: s.generation, idleTimeout: rule.idleTimeout,
                requestFlowID: Self.flowID(
                    s, protocolNumber: c.protocolNumber, source: c.destination, sourcePort: c.destinationPort,
                    destination: c.source, destinationPort: c.sourcePort),
                replyFlowID: flowID, listener: UInt32(truncatingIfNeeded: listener), clientRecord: rebuilt.clientRecord)
            if isTCP {
                entry.observeTCP(flags: c.tcpFlags, fromClient: false)
            } else {
                entry.observeUDP(fromClient: false)
            }
            switch flows.insert(entry, hash: c.hash, now: now) {
            case .inserted, .evicted: counters.flowCreated()
            case .full: counters.statelessForward()
            }
        }

        let p = packet.bytes
        clampMSS(p, c, snapshot: s)
        let innerLength = EthernetHeader.size + c.ipLength
        if clientVSID == 0 {
            // docs/packets.md "DIP reply to external client": plain IPv4 to the Internet client via the upstream router.
            guard s.hasExternal else { return .drop(.noFlow) }
            let ethernet = EthernetHeader(p + c.ethernet)
            ethernet.destination = MACAddress(rawValue: s.externalGatewayMAC)
            ethernet.source = MACAddress(rawValue: s.externalMAC)
            Rewrite.translate(
                p, ip: c.ip, transport: c.transport, protocolNumber: c.protocolNumber, source: true, address: vip,
                port: vipPort)
            packet.start += c.ethernet
            packet.length = innerLength
            counters.vipReply(listener, bytes: c.ipLength)
            return .forward(.external)
        }

        // docs/packets.md "DIP reply to internal client": back into the client's VSID, toward its host.
        guard IPv4Header.minimumSize + GREHeader.size + innerLength <= s.mtu else { return .drop(.tooBig) }
        // The flow's record is the one this probe finds: (its VSID, its CA) for the same policy.
        let clientRecord =
            knownClientRecord >= 0
            ? knownClientRecord : s.addressIndex.find(AddressMap.key(vsid: clientVSID, address: c.destination)).record
        guard clientRecord >= 0 else { return .drop(.noFlow) }
        let record = s.records.pointer(Int(clientRecord))
        let nextHop = nextHop(record)
        guard nextHop != 0 else { return .drop(.neighborUnresolved) }
        let ethernet = EthernetHeader(p + c.ethernet)
        ethernet.destination = MACAddress(rawValue: record.pointee.mac)
        ethernet.source = MACAddress(rawValue: s.domains[Int(record.pointee.domain)].gatewayMAC)
        Rewrite.translate(
            p, ip: c.ip, transport: c.transport, protocolNumber: c.protocolNumber, source: true, address: vip,
            port: vipPort)
        let outer = c.ethernet - Rewrite.encapsulationSize
        Rewrite.encapsulate(
            at: p + outer, sourceMAC: s.underlayMAC, destinationMAC: nextHop, source: s.underlayAddress,
            destination: record.pointee.pa, tos: IPv4Header(p + c.ip).tos, ttl: s.ttl, innerLength: innerLength,
            key: clientVSID << 8 | UInt32(flowID), checksumBase: s.outerChecksumBase)
        packet.start += outer
        packet.length = Rewrite.encapsulationSize + innerLength
        counters.vipReply(listener, bytes: c.ipLength)
        return .forward(.underlay)
    }

    /// A DIP's packet without flow state, rebuilt from policy: the client's kind first (a CA
    /// with a lookup record in the DIP's routing domain is internal), then exactly one rule
    /// of that kind must reach the DIP port (docs/packets.md "Replies and flow state").
    /// `listener` is negative when it cannot be rebuilt: `PolicySnapshot.notAReply` when no
    /// rule has that DIP port, else `PolicySnapshot.cannotRebuild`.
    @inlinable @inline(__always)
    static func rebuildReply(_ c: Classification, snapshot s: PolicySnapshot) -> RebuiltReply {
        let client = s.internalClient(dipVSID: c.vsid, dipCA: c.source, client: c.destination)
        let found = s.rebuildListener(
            dipVSID: c.vsid, dipCA: c.source, protocolNumber: c.protocolNumber, backendPort: c.sourcePort,
            clientIsInternal: client != nil)
        guard found >= 0 else {
            return RebuiltReply(listener: found, clientVSID: 0, vip: 0, vipPort: 0, flowID: 0, clientRecord: -1)
        }
        let frontend = s.listeners[Int(found)]
        let clientVSID = client.map { s.records[$0].vsid } ?? 0
        let flowID =
            clientVSID == 0
            ? 0
            : flowID(
                s, protocolNumber: c.protocolNumber, source: frontend.vip, sourcePort: frontend.port,
                destination: c.destination, destinationPort: c.destinationPort)
        return RebuiltReply(
            listener: found, clientVSID: clientVSID, vip: frontend.vip, vipPort: frontend.port, flowID: flowID,
            clientRecord: client.map { Int32(truncatingIfNeeded: $0) } ?? -1)
    }
}

/// The flow of a DIP's packet rebuilt from policy (``DataplaneWorker/rebuildReply(_:snapshot:)``).
@frozen @usableFromInline
struct RebuiltReply {
    /// The frontend listener, or a negative `PolicySnapshot` code.
    @usableFromInline var listener: Int32
    @usableFromInline var clientVSID: UInt32
    @usableFromInline var vip: UInt32
    @usableFromInline var vipPort: UInt16
    @usableFromInline var flowID: UInt8
    /// The internal client's lookup record, or -1 (external client, or not rebuilt).
    @usableFromInline var clientRecord: Int32

    @inlinable
    init(listener: Int32, clientVSID: UInt32, vip: UInt32, vipPort: UInt16, flowID: UInt8, clientRecord: Int32) {
        self.listener = listener
        self.clientVSID = clientVSID
        self.vip = vip
        self.vipPort = vipPort
        self.flowID = flowID
        self.clientRecord = clientRecord
    }
}
