import NVLBBalancing
import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import PropertyBased
import Testing

/// docs/packets.md "Spoofing checks and tenant isolation": "A tenant's packet is never emitted into another routing domain's VSID."
/// Random policies whose routing domains reuse the same CAs (and the same internal VIPs),
/// random traffic of every tenant, external clients, and spoofing attempts across tenants.
@Suite struct TenantIsolationTests {
    struct Tenant {
        var index: Int
        var name: String
        var gatewayMAC: MACAddress
        var vsids: [UInt32]
        var vms: [TenantVM]
        var loadBalancers: [Balancer]
        var pas: Set<IPv4Address> { Set(vms.map(\.pa)) }
        var macs: Set<MACAddress> { Set(vms.map(\.mac)) }
    }

    struct Balancer {
        var externalVIP: IPv4Address
        var internalVSID: UInt32
        var internalVIP: IPv4Address
    }

    /// nvlb itself: the example's PA and MAC, which `Actors` and `Traffic` address.
    static let underlayPA = Actors.lbPA
    static let underlayMAC = Actors.lbMAC
    static let sharedCAs = (1...8).map { IPv4Address(10, 0, 0, UInt8($0)) }

    /// A random valid policy: 2–4 routing domains over the same CAs 10.0.0.1–8, distinct
    /// VSIDs and PAs per domain, 1–3 load balancers each with an external and an internal
    /// frontend (internal VIPs 10.0.0.100+ repeat in every domain).
    static func randomPolicy(_ rng: inout SplitMix64) -> (PolicyConfiguration, [Tenant]) {
        var underlay = PolicyConfiguration.Underlay(address: underlayPA, mac: underlayMAC)
        underlay.gatewayMAC = TestPolicies.mac("02:00:00:00:01:fe")
        var balancer = PolicyConfiguration.Balancer()
        balancer.maglevTableSize = 1009  // ≥ 100 × 8 DIPs; keeps the build cheap in debug
        let sharedGateway = Bool.random(using: &rng)
        var tenants: [Tenant] = []
        var domains: [PolicyConfiguration.RoutingDomain] = []
        var loadBalancers: [PolicyConfiguration.LoadBalancer] = []
        for d in 0..<Int.random(in: 2...4, using: &rng) {
            let vsids = (1...Int.random(in: 1...3, using: &rng)).map { UInt32(10_000 + 100 * d + $0) }
            let gateway = MACAddress(rawValue: 0x024c_4200_0000 | UInt64(sharedGateway ? 0 : d) << 8)
            let vms = sharedCAs.enumerated().map { k, ca in
                TenantVM(
                    vsid: vsids.randomElement(using: &rng)!, ca: ca,
                    pa: IPv4Address(192, 168, UInt8(10 + d), UInt8(k + 1)),
                    mac: MACAddress(rawValue: 0x0015_5d00_0000 | UInt64(d) << 8 | UInt64(k)))
            }
            let name = "tenant\(d)"
            domains.append(
                .init(
                    name: name, gatewayMAC: gateway, subnets: vsids,
                    lookupRecords: vms.map { .init(vsid: $0.vsid, ca: $0.ca, pa: $0.pa, mac: $0.mac) }))
            var balancers: [Balancer] = []
            for l in 0..<Int.random(in: 1...3, using: &rng) {
                let b = Balancer(
                    externalVIP: IPv4Address(131, 107, UInt8(d + 1), UInt8(l + 1)),
                    internalVSID: vsids.randomElement(using: &rng)!, internalVIP: IPv4Address(10, 0, 0, UInt8(100 + l)))
                balancers.append(b)
                var backends = sharedCAs.filter { _ in Bool.random(using: &rng) }
                if backends.isEmpty { backends = [sharedCAs.randomElement(using: &rng)!] }
                loadBalancers.append(
                    .init(
                        name: "\(name)-lb\(l)", routingDomain: name,
                        frontends: [
                            .init(vsid: nil, vip: b.externalVIP), .init(vsid: b.internalVSID, vip: b.internalVIP),
                        ],
                        rules: [
                            .init(protocolNumber: .tcp, frontendPort: 80, backendPort: 8080),
                            .init(protocolNumber: .udp, frontendPort: 53, backendPort: 5353),
                        ],
                        backends: backends.map { ca in
                            .init(
                                vsid: vms.first { $0.ca == ca }!.vsid, ca: ca,
                                weight: UInt32.random(in: 1...3, using: &rng))
                        }))
            }
            tenants.append(
                Tenant(index: d, name: name, gatewayMAC: gateway, vsids: vsids, vms: vms, loadBalancers: balancers))
        }
        let configuration = PolicyConfiguration(
            balancer: balancer, underlay: underlay,
            external: .init(interface: nil, mac: Actors.externalMAC, gatewayMAC: Actors.routerMAC),
            routingDomains: domains, loadBalancers: loadBalancers)
        return (configuration, tenants)
    }

    /// Runs frames and checks every outcome against the tenant the frame really came from.
    final class Checker {
        let harness: Harness
        let tenants: [Tenant]
        var forwardedUnderlay = 0
        var forwardedExternal = 0

        init(_ configuration: PolicyConfiguration, _ tenants: [Tenant]) {
            harness = Harness(configuration, flowCapacity: 4096)
            self.tenants = tenants
        }

        /// Runs `frame`, sent by an actor of tenant `origin`; returns the output when forwarded.
        @discardableResult
        func run(_ frame: [UInt8], origin: Int, _ what: @autoclosure () -> String) -> (Verdict, [UInt8]) {
            let (verdict, output) = harness.run(frame)
            let tenant = tenants[origin]
            switch verdict {
            case .forward(.underlay):
                forwardedUnderlay += 1
                guard let out = ParsedFrame(output), let outer = out.ipv4, let gre = out.gre, let vsid = gre.vsid,
                    let inner = out.inner
                else {
                    Issue.record("\(what()): underlay output is not NVGRE")
                    break
                }
                #expect(
                    tenant.vsids.contains(vsid),
                    "\(what()): emitted into VSID \(vsid), not \(tenant.name)'s \(tenant.vsids)")
                #expect(
                    tenant.pas.contains(outer.destination),
                    "\(what()): sent to PA \(outer.destination), not \(tenant.name)'s")
                #expect(
                    tenant.macs.contains(inner.destination),
                    "\(what()): inner MAC \(inner.destination) is not \(tenant.name)'s")
                #expect(inner.source == tenant.gatewayMAC, "\(what()): inner source MAC")
                #expect(outer.source == TenantIsolationTests.underlayPA)
            case .forward(.external):
                forwardedExternal += 1
                let out = ParsedFrame(output)
                #expect(out?.gre == nil && out?.destination == Actors.routerMAC, "\(what()): external output")
                #expect(
                    out?.ipv4.map { ip in !TenantIsolationTests.sharedCAs.contains(ip.destination) } ?? false,
                    "\(what()): a tenant CA leaked to the external side")
            case .answer, .consumed:
                Issue.record("\(what()): unexpected answer")
            case .forwardFragments:
                Issue.record("\(what()): unexpected fragments")
            case .drop:
                break
            }
            return (verdict, output)
        }
    }

    @Test func noFrameCrossesRoutingDomains() async {
        await propertyCheck(count: 60, input: Gen.uint64()) { seed in
            var rng = SplitMix64(seed: seed)
            let (configuration, tenants) = Self.randomPolicy(&rng)
            let checker = Checker(configuration, tenants)
            var spoofs = 0
            var spoofDrops = 0
            func port() -> UInt16 { UInt16.random(in: 10_000...60_000, using: &rng) }

            for tenant in tenants {
                for (l, lb) in tenant.loadBalancers.enumerated() {
                    // An Internet client, TCP and UDP, and the DIP's answer.
                    for tcp in [true, false] {
                        let client = IPv4Address(rawValue: UInt32.random(in: 0x0100_0000...0x7fff_ffff, using: &rng))
                        let request =
                            tcp
                            ? Actors.external(dst: lb.externalVIP, sport: port(), dport: 80, src: client)
                            : Traffic.externalUDP(src: client, dst: lb.externalVIP, sport: port())
                        let (verdict, out) = checker.run(
                            request, origin: tenant.index, "external → \(tenant.name)/lb\(l)")
                        #expect(verdict == .forward(.underlay))
                        if let reply = Traffic.reply(to: out) {
                            let (back, _) = checker.run(reply, origin: tenant.index, "DIP reply to external client")
                            #expect(back == .forward(.external))
                        }
                    }
                    // Every VM of the tenant to the internal VIP (sent in the frontend's VSID).
                    for vm in tenant.vms {
                        let sport = port()
                        let request = vm.tcp(
                            to: lb.internalVIP, sport: sport, dport: 80, vsid: lb.internalVSID,
                            gateway: tenant.gatewayMAC)
                        let (verdict, out) = checker.run(
                            request, origin: tenant.index, "\(tenant.name) VM \(vm.ca) → its VIP")
                        #expect(verdict == .forward(.underlay))
                        if let reply = Traffic.reply(to: out) {
                            let (back, backOut) = checker.run(
                                reply, origin: tenant.index, "DIP reply to \(tenant.name) VM")
                            #expect(back == .forward(.underlay))
                            if let d = Traffic.delivery(backOut) {
                                #expect(d.pa == vm.pa && d.vsid == vm.vsid && d.dip == vm.ca)  // back to the client VM
                            }
                            // The same reply claiming another tenant's VSID: spoofed.
                            for other in tenants where other.index != tenant.index {
                                guard let d = Traffic.delivery(out) else { break }
                                let inner = FrameBuilder.tcp(
                                    srcMAC: d.dipMAC, dstMAC: other.gatewayMAC, src: d.dip, dst: d.client,
                                    sport: d.backendPort, dport: d.clientPort, flags: [.syn, .ack])
                                let forged = Actors.fromHost(
                                    hostPA: d.pa, vsid: other.vsids.randomElement(using: &rng)!, inner: inner)
                                spoofs += 1
                                let (v, _) = checker.run(
                                    forged, origin: tenant.index, "\(tenant.name) DIP reply in \(other.name)'s VSID")
                                if v == .drop(.spoofed) { spoofDrops += 1 }
                            }
                        }
                        // VMs of other tenants sending in this tenant's VSID, with their own PA/MAC/CA.
                        for other in tenants where other.index != tenant.index {
                            let intruder = other.vms.randomElement(using: &rng)!
                            let forged = intruder.tcp(
                                to: lb.internalVIP, sport: port(), dport: 80, vsid: lb.internalVSID,
                                gateway: tenant.gatewayMAC)
                            spoofs += 1
                            let (v, _) = checker.run(
                                forged, origin: other.index, "\(other.name) VM in \(tenant.name)'s VSID")
                            if v == .drop(.spoofed) { spoofDrops += 1 }
                            // Its own VSID toward the same (overlapping) VIP: stays in its own domain.
                            checker.run(
                                intruder.udp(to: lb.internalVIP, sport: port(), dport: 53, gateway: other.gatewayMAC),
                                origin: other.index, "\(other.name) VM → VIP \(lb.internalVIP) in its own VSID")
                        }
                    }
                }
                // DIPs answering clients nvlb has no state for: rebuilt from policy or dropped.
                for vm in tenant.vms {
                    let client =
                        Bool.random(using: &rng)
                        ? IPv4Address(rawValue: UInt32.random(in: 0x0100_0000...0x7fff_ffff, using: &rng))
                        : Self.sharedCAs.randomElement(using: &rng)!
                    let inner = FrameBuilder.tcp(
                        srcMAC: vm.mac, dstMAC: tenant.gatewayMAC, src: vm.ca, dst: client, sport: 8080, dport: port(),
                        flags: .ack)
                    checker.run(
                        Actors.fromHost(hostPA: vm.pa, vsid: vm.vsid, inner: inner), origin: tenant.index,
                        "\(tenant.name) DIP \(vm.ca) → \(client) without state")
                }
            }
            #expect(spoofDrops == spoofs, "every cross-tenant forgery is dropped as spoofed")
            #expect(checker.forwardedUnderlay > 0 && checker.forwardedExternal > 0)
            #expect(checker.harness.accountingBalances)
        }
    }
}
