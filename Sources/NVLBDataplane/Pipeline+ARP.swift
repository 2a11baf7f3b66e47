import NVLBBalancing
import NVLBPolicy
import NVLBWire

extension DataplaneWorker {
    /// docs/packets.md "ARP and next hops": answers an ARP request for nvlb's PA (underlay) —
    /// or, with `bgp:`, for its `next_hop` instead — or for an external VIP (external side),
    /// rewriting the request into the reply in place.
    @inlinable
    static func answerARP(_ packet: inout Packet, into c: inout Classification, snapshot s: PolicySnapshot) {
        guard packet.length >= EthernetHeader.size + ARPHeader.size else { return c.finish(.drop(.malformed)) }
        let p = packet.bytes
        let ethernet = EthernetHeader(p)
        let arp = ARPHeader(p + EthernetHeader.size)
        guard arp.hardwareType == 1, arp.protocolType == EthernetHeader.etherTypeIPv4, arp.hardwareLength == 6,
            arp.protocolLength == 4
        else { return c.finish(.drop(.unsupported)) }
        let destination = ethernet.destination.rawValue
        guard
            destination == MACAddress.broadcast.rawValue || destination == s.underlayMAC
                || (s.hasExternal && destination == s.externalMAC)
        else { return c.finish(.drop(.notForUs)) }
        guard arp.operation == ARPHeader.operationRequest else { return c.finish(.drop(.notForUs)) }

        let target = arp.targetIP
        let mac: UInt64
        let port: Port
        if s.bgpNextHop != 0 {
            // Behind ECMP routers (docs/operations.md "Several instances behind ECMP"): the
            // underlay address and the VIPs are shared by every instance and reached through
            // the routers (several answers would make a MAC flap), so only this instance's
            // own next hop is answered — with the MAC the request was sent to when it was
            // sent to one of ours (a refresh), else with the underlay's.
            guard target.rawValue == s.bgpNextHop else { return c.finish(.drop(.notForUs)) }
            if s.hasExternal && destination == s.externalMAC {
                mac = s.externalMAC
                port = .external
            } else {
                mac = s.underlayMAC
                port = .underlay
            }
        } else if target.rawValue == s.underlayAddress {
            mac = s.underlayMAC
            port = .underlay
        } else if s.hasExternal && s.isVIP(vsid: 0, vip: target.rawValue) {
            mac = s.externalMAC
            port = .external
        } else {
            return c.finish(.drop(.notForUs))
        }
        let requester = arp.senderMAC
        let requesterIP = arp.senderIP
        ethernet.destination = requester
        ethernet.source = MACAddress(rawValue: mac)
        arp.operation = ARPHeader.operationReply
        arp.targetMAC = requester
        arp.targetIP = requesterIP
        arp.senderMAC = MACAddress(rawValue: mac)
        arp.senderIP = target
        packet.length = EthernetHeader.size + ARPHeader.size
        c.protocolNumber = 0  // not an ICMP echo answer (see `finish`)
        return c.finish(.answer(port))
    }
}
