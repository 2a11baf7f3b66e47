import NVLBBalancing
import NVLBWire

extension HostSwitch {
    /// A frame a VM sent: ARP (answered by the proxy) or IPv4 (encapsulated or delivered).
    mutating func receiveFromVM(_ index: Int, _ frame: [UInt8], _ parsed: ParsedFrame, now: UInt64) {
        let vm = policy.vms[index]
        guard parsed.vlan == nil else { return drop(.unsupported, "\(vm.name): 802.1Q-tagged frame") }
        guard parsed.source == vm.mac else {
            return drop(.spoofed, "\(vm.name): source MAC \(parsed.source), its record says \(vm.mac)")
        }
        if let arp = parsed.arp { return proxyARP(arp, for: index) }
        guard let ip = parsed.ipv4 else {
            return drop(.unsupported, "\(vm.name): EtherType 0x\(String(parsed.etherType, radix: 16))")
        }
        guard ip.source == vm.ca else { return drop(.spoofed, "\(vm.name): IPv4 source \(ip.source)") }
        guard !parsed.destination.isMulticast else {
            return drop(.unsupported, "\(vm.name): broadcast/multicast IPv4 to \(ip.destination)")
        }

        // The frame without Ethernet padding.
        var inner = Array(frame[0..<min(frame.count, EthernetHeader.size + Int(ip.totalLength))])
        let ports = ip.ports
        let flowID = FlowHasher.host.flowID(
            protocolNumber: ip.protocolNumber, source: ip.source.rawValue, sourcePort: ports.0,
            destination: ip.destination.rawValue, destinationPort: ports.1)
        let domain = policy.domains[vm.domain]

        // 1. The answer of a flow that came in through the gateway goes back through it.
        if ip.tcp != nil || ip.udp != nil {
            let key = FlowAffinity.Key(
                vsid: vm.vsid, protocolNumber: ip.protocolNumber, vmAddress: ip.source, vmPort: ports.0,
                peerAddress: ip.destination, peerPort: ports.1)
            if affinity.matches(key, now: now) {
                counters.gatewayReturns += 1
                Self.setMAC(domain.gatewayMAC, in: &inner, at: 0)
                return encapsulate(inner, to: policy.gatewayPA, vsid: vm.vsid, flowID: flowID, tos: ip.tos, now: now)
            }
        }

        // 2. A CA of the routing domain: straight to its host (routed between subnets with the
        //    gateway MAC as inner source, as Hyper-V's distributed router does).
        if let record = policy.record(domain: vm.domain, ca: ip.destination) {
            Self.setMAC(record.mac, in: &inner, at: 0)
            if record.vsid != vm.vsid { Self.setMAC(domain.gatewayMAC, in: &inner, at: 6) }
            if record.pa == policy.pa {
                guard let target = vmByAddress[.init(vsid: record.vsid, mac: record.mac)] else {
                    return drop(.noVM, "\(vm.name): \(ip.destination) is recorded on this host but not attached")
                }
                counters.hairpinned += 1
                return send(inner, to: .vm(target))
            }
            return encapsulate(inner, to: record.pa, vsid: record.vsid, flowID: flowID, tos: ip.tos, now: now)
        }

        // 3. Anything else (a VIP, an Internet client): the customer route via the gateway.
        Self.setMAC(domain.gatewayMAC, in: &inner, at: 0)
        encapsulate(inner, to: policy.gatewayPA, vsid: vm.vsid, flowID: flowID, tos: ip.tos, now: now)
    }

    /// Hyper-V's ARP proxy: a request from the VM is answered on the host, never flooded. A CA
    /// of the VM's own subnet is at its record's MAC; any other address is the gateway.
    private mutating func proxyARP(_ arp: ParsedARP, for index: Int) {
        let vm = policy.vms[index]
        guard arp.operation == ARPHeader.operationRequest else {
            return drop(.unsupported, "\(vm.name): ARP operation \(arp.operation)")
        }
        // Duplicate-address probes (sender 0.0.0.0) and announcements for itself: nobody else has it.
        guard arp.senderIP == vm.ca, arp.targetIP != vm.ca else { return }
        let domain = policy.domains[vm.domain]
        var answer = domain.gatewayMAC
        if let record = policy.record(domain: vm.domain, ca: arp.targetIP), record.vsid == vm.vsid {
            answer = record.mac
        }
        counters.arpProxied += 1
        send(
            FrameBuilder.padded(
                FrameBuilder.arpReply(
                    senderMAC: answer, senderIP: arp.targetIP, targetMAC: vm.mac, targetIP: vm.ca)),
            to: .vm(index))
    }
}
