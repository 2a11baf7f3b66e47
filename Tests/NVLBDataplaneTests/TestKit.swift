import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

// Helpers shared by the behaviour, reload, truncation and property suites.

extension Harness {
    /// Runs `frame` with every byte of the worker buffer outside the frame set to `fill`
    /// first: two runs with different fills must agree, or the pipeline read past the frame.
    func run(_ frame: [UInt8], fill: UInt8, now: UInt32 = 1000) -> (verdict: Verdict, output: [UInt8]) {
        buffer.initializeMemory(as: UInt8.self, repeating: fill, count: Packet.headroom + 16_384)
        return run(frame, now: now)
    }

    /// `packetsIn == packetsOut + answered + dropped`: every frame ends in exactly one outcome.
    var accountingBalances: Bool {
        let c = counters
        return c.packetsIn == c.packetsOut + c.answered + c.dropped
    }
}

/// Frames as the actors around nvlb would send them, beyond `Actors`.
enum Traffic {
    static let hostMAC = TestPolicies.mac("02:00:00:00:99:01")

    /// An NVGRE header: 0x2000 / 0x6558, key `vsid << 8 | flowID`.
    static func gre(vsid: UInt32, flowID: UInt8 = 0) -> [UInt8] {
        [0x20, 0x00, 0x65, 0x58, UInt8(vsid >> 16 & 0xff), UInt8(vsid >> 8 & 0xff), UInt8(vsid & 0xff), flowID]
    }

    /// `inner` in NVGRE from `hostPA` to nvlb, with `options` in the outer IPv4 header (IHL > 5).
    static func nvgre(
        inner: [UInt8], hostPA: IPv4Address, vsid: UInt32, options: [UInt8], hostMAC: MACAddress = hostMAC
    ) -> [UInt8] {
        FrameBuilder.ipv4(
            srcMAC: hostMAC, dstMAC: Actors.lbMAC, src: hostPA, dst: Actors.lbPA, protocolNumber: 47,
            payload: gre(vsid: vsid, flowID: 0x42) + inner, ip: .init(options: options))
    }

    /// An Internet client's UDP datagram to a public VIP.
    static func externalUDP(
        src: IPv4Address = Actors.client, dst: IPv4Address = Actors.blueVIP, sport: UInt16 = 40000,
        dport: UInt16 = 53, payload: [UInt8] = [1, 2, 3], zeroChecksum: Bool = false, tos: UInt8 = 0
    ) -> [UInt8] {
        FrameBuilder.udp(
            srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: src, dst: dst, sport: sport, dport: dport,
            payload: payload, zeroChecksum: zeroChecksum, ip: .init(tos: tos))
    }

    /// Where nvlb sent a request: the outer and inner headers of an NVGRE output frame.
    struct Delivery: Equatable {
        var pa: IPv4Address
        var vsid: UInt32
        var flowID: UInt8
        var dipMAC: MACAddress
        var gatewayMAC: MACAddress
        var dip: IPv4Address
        var client: IPv4Address
        var protocolNumber: UInt8
        var clientPort: UInt16
        var backendPort: UInt16
    }

    /// The delivery of an NVGRE output frame, nil when `output` is not NVGRE with TCP/UDP inside.
    static func delivery(_ output: [UInt8]) -> Delivery? {
        guard let frame = ParsedFrame(output), let outer = frame.ipv4, let gre = frame.gre, let key = gre.key,
            let inner = gre.inner, let ip = inner.ipv4
        else { return nil }
        let ports: (UInt16, UInt16)
        if let tcp = ip.tcp {
            ports = (tcp.sourcePort, tcp.destinationPort)
        } else if let udp = ip.udp {
            ports = (udp.sourcePort, udp.destinationPort)
        } else {
            return nil
        }
        return Delivery(
            pa: outer.destination, vsid: key >> 8, flowID: UInt8(key & 0xff), dipMAC: inner.destination,
            gatewayMAC: inner.source, dip: ip.destination, client: ip.source, protocolNumber: ip.protocolNumber,
            clientPort: ports.0, backendPort: ports.1)
    }

    /// The answer of the DIP that received `forwarded` (nvlb's NVGRE output), as the DIP's
    /// host would encapsulate it: from the DIP's PA, MAC and CA back to the client.
    static func reply(
        to forwarded: [UInt8], flags: TCPFlags = [.syn, .ack], payload: [UInt8] = [], tos: UInt8 = 0,
        zeroChecksum: Bool = false
    ) -> [UInt8]? {
        guard let d = delivery(forwarded) else { return nil }
        let inner: [UInt8]
        if d.protocolNumber == 6 {
            inner = FrameBuilder.tcp(
                srcMAC: d.dipMAC, dstMAC: d.gatewayMAC, src: d.dip, dst: d.client, sport: d.backendPort,
                dport: d.clientPort, flags: flags, payload: payload, ip: .init(tos: tos))
        } else {
            inner = FrameBuilder.udp(
                srcMAC: d.dipMAC, dstMAC: d.gatewayMAC, src: d.dip, dst: d.client, sport: d.backendPort,
                dport: d.clientPort, payload: payload, zeroChecksum: zeroChecksum, ip: .init(tos: tos))
        }
        return FrameBuilder.encapsulate(
            inner: inner, outerSourceMAC: hostMAC, outerDestinationMAC: Actors.lbMAC, outerSource: d.pa,
            outerDestination: Actors.lbPA, vsid: d.vsid, flowID: 0x5a)
    }
}

/// A tenant VM that can be a client of an internal frontend: its lookup record.
struct TenantVM: Equatable {
    var vsid: UInt32
    var ca: IPv4Address
    var pa: IPv4Address
    var mac: MACAddress

    /// The VM's TCP packet to `vip`, NVGRE-encapsulated by its host with `vsid` (default: its own).
    func tcp(
        to vip: IPv4Address, sport: UInt16, dport: UInt16, flags: TCPFlags = .syn, vsid sendVSID: UInt32? = nil,
        gateway: MACAddress = Actors.blueGateway, payload: [UInt8] = [], tos: UInt8 = 0
    ) -> [UInt8] {
        let inner = FrameBuilder.tcp(
            srcMAC: mac, dstMAC: gateway, src: ca, dst: vip, sport: sport, dport: dport, flags: flags,
            payload: payload, ip: .init(tos: tos))
        return Actors.fromHost(hostPA: pa, hostMAC: Traffic.hostMAC, vsid: sendVSID ?? vsid, inner: inner)
    }

    /// The VM's UDP datagram to `vip`, NVGRE-encapsulated by its host.
    func udp(
        to vip: IPv4Address, sport: UInt16, dport: UInt16, vsid sendVSID: UInt32? = nil,
        gateway: MACAddress = Actors.blueGateway, payload: [UInt8] = [], zeroChecksum: Bool = false, tos: UInt8 = 0
    ) -> [UInt8] {
        let inner = FrameBuilder.udp(
            srcMAC: mac, dstMAC: gateway, src: ca, dst: vip, sport: sport, dport: dport, payload: payload,
            zeroChecksum: zeroChecksum, ip: .init(tos: tos))
        return Actors.fromHost(hostPA: pa, hostMAC: Traffic.hostMAC, vsid: sendVSID ?? vsid, inner: inner)
    }

    /// The example configuration's client VM 10.1.5.20 in VSID 5002.
    static let exampleClient = TenantVM(
        vsid: 5002, ca: TestPolicies.ip("10.1.5.20"), pa: TestPolicies.ip("192.168.6.7"),
        mac: TestPolicies.mac("00:15:5d:01:05:20"))
}

extension TestPolicies {
    /// `example()` with `count` more client VMs in Blue's VSID 5002 (10.1.5.30 …, each on its
    /// own host 192.168.7.x), and a UDP rule 5300 → 6000 on the CA VIP 10.1.5.100.
    static func exampleWithClients(_ count: Int, flowID: PolicyConfiguration.Underlay.FlowIDMode = .hash)
        -> (PolicyConfiguration, [TenantVM])
    {
        precondition(count <= 200)
        var configuration = example(flowID: flowID)
        var clients = [TenantVM.exampleClient]
        for k in 0..<count {
            let vm = TenantVM(
                vsid: 5002, ca: IPv4Address(10, 1, 5, UInt8(30 + k)), pa: IPv4Address(192, 168, 7, UInt8(k + 1)),
                mac: MACAddress(rawValue: 0x0015_5d03_0000 | UInt64(k)))
            clients.append(vm)
            configuration.routingDomains[0].lookupRecords.append(
                .init(vsid: vm.vsid, ca: vm.ca, pa: vm.pa, mac: vm.mac))
        }
        configuration.loadBalancers[1].rules.append(.init(protocolNumber: .udp, frontendPort: 5300, backendPort: 6000))
        return (configuration, clients)
    }
}
