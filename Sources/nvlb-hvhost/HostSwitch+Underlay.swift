import NVLBWire

extension HostSwitch {
    /// A frame from the provider network: ARP for this host's PA, or NVGRE for its VMs.
    mutating func receiveFromUnderlay(_ frame: [UInt8], _ parsed: ParsedFrame, now: UInt64) {
        guard parsed.vlan == nil else { return drop(.unsupported, "underlay: 802.1Q-tagged frame") }
        if let arp = parsed.arp { return receiveUnderlayARP(arp, now: now) }
        guard let ip = parsed.ipv4 else {
            return drop(.unsupported, "underlay: EtherType 0x\(String(parsed.etherType, radix: 16))")
        }
        guard parsed.destination == policy.mac, ip.destination == policy.pa else {
            return drop(.notForUs, "underlay: \(ip.source) → \(ip.destination) to MAC \(parsed.destination)")
        }
        guard ip.protocolNumber == IPv4Header.protocolGRE else {
            return drop(.unsupported, "underlay: IPv4 protocol \(ip.protocolNumber) from \(ip.source)")
        }
        guard !ip.isFragment else { return drop(.fragment, "underlay: outer fragment from \(ip.source)") }
        guard let gre = ip.gre, gre.isNVGRE, let vsid = gre.vsid else {
            return drop(.badGRE, "underlay: GRE that is not NVGRE from \(ip.source)")
        }
        guard let domainIndex = policy.domainOfVSID[vsid], let local = vmsByVSID[vsid] else {
            return drop(.unknownVSID, "underlay: VSID \(vsid) from \(ip.source): no VM of it here")
        }
        guard let inner = gre.inner else { return drop(.malformed, "underlay: NVGRE without inner frame") }
        guard inner.vlan == nil else { return drop(.innerVLAN, "underlay: tagged inner frame in VSID \(vsid)") }

        let targets: [Int]
        if inner.destination == .broadcast {
            targets = local
        } else if let index = vmByAddress[.init(vsid: vsid, mac: inner.destination)] {
            targets = [index]
        } else {
            return drop(.noVM, "underlay: VSID \(vsid) inner destination \(inner.destination): no such VM here")
        }

        // Source validation. The gateway's wildcard record: nvlb forwards traffic of clients
        // that have no lookup record (Internet clients, VIP answers) with its own PA and the
        // domain's gateway MAC, for any inner source address.
        let domain = policy.domains[domainIndex]
        let fromGateway = ip.source == policy.gatewayPA && inner.source == domain.gatewayMAC
        if !fromGateway {
            guard let sourceCA = inner.ipv4?.source ?? inner.arp?.senderIP else {
                return drop(.unsupported, "underlay: inner EtherType 0x\(String(inner.etherType, radix: 16))")
            }
            guard let record = policy.record(domain: domainIndex, ca: sourceCA), record.pa == ip.source,
                record.mac == inner.source || (inner.source == domain.gatewayMAC && record.vsid != vsid)
            else {
                return drop(
                    .spoofed,
                    "underlay: VSID \(vsid) inner \(sourceCA)/\(inner.source) from PA \(ip.source) matches no lookup record"
                )
            }
        }

        counters.decapsulated += 1
        let innerIP = inner.ipv4
        if let innerIP, !inner.checksumsValid {
            counters.innerChecksumErrors += 1
            log?("warning: delivering a frame with a wrong inner checksum: \(innerIP.source) → \(innerIP.destination)")
        }
        for index in targets {
            if fromGateway {
                counters.vms[index].framesFromGateway += 1
                if let innerIP, innerIP.tcp != nil || innerIP.udp != nil {
                    let (sourcePort, destinationPort) = innerIP.ports
                    let key = FlowAffinity.Key(
                        vsid: vsid, protocolNumber: innerIP.protocolNumber, vmAddress: innerIP.destination,
                        vmPort: destinationPort, peerAddress: innerIP.source, peerPort: sourcePort)
                    if !affinity.note(key, now: now) { log?("warning: flow affinity table full") }
                }
            }
            if let tcp = innerIP?.tcp, tcp.flags.contains(.syn), !tcp.flags.contains(.ack) {
                counters.vms[index].connectionsIn[tcp.destinationPort, default: 0] += 1
            }
            send(gre.payload, to: .vm(index))
        }
    }

    /// ARP on the underlay: answer for this host's PA; learn the sender of requests for us and
    /// of any packet about a PA we are resolving.
    private mutating func receiveUnderlayARP(_ arp: ParsedARP, now: UInt64) {
        let forUs = arp.targetIP == policy.pa
        if arp.senderIP != policy.pa {
            for frame in neighbors.learn(arp.senderIP, mac: arp.senderMAC, create: forUs, now: now) {
                send(frame, to: .underlay)
            }
        }
        guard forUs else { return drop(.notForUs, "underlay: ARP for \(arp.targetIP)") }
        guard arp.operation == ARPHeader.operationRequest else { return }
        counters.arpAnswered += 1
        send(
            FrameBuilder.padded(
                FrameBuilder.arpReply(
                    senderMAC: policy.mac, senderIP: policy.pa, targetMAC: arp.senderMAC, targetIP: arp.senderIP)),
            to: .underlay)
    }
}
