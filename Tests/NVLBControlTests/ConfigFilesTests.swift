import NVLBControl
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// The committed files under `Config/` are valid and mean what their comments say.
@Suite("Config files")
struct ConfigFilesTests {
    @Test func exampleMatchesSpec() throws {
        let policy = try ConfigurationLoader.load(path: TestSupport.configPath("example.yaml"))
        #expect(policy.balancer.workers == .auto)
        #expect(policy.balancer.flowTableCapacity == 1_048_576)
        #expect(policy.balancer.maglevTableSize == 65537)
        #expect(policy.balancer.hashSeed == 0x6e76_6c62)  // written as YAML hex
        #expect(policy.underlay.interface == "pa0")
        #expect(policy.underlay.address == IPv4Address(192, 168, 6, 2))
        #expect(policy.underlay.mac == MACAddress("02:4c:42:00:06:02"))
        #expect(policy.underlay.gatewayMAC == MACAddress("02:00:00:00:06:01"))
        #expect(
            policy.underlay.neighbors == [
                .init(address: IPv4Address(192, 168, 6, 4), mac: MACAddress("02:00:00:00:06:04")!)
            ])
        #expect(policy.underlay.mtu == 1500 && policy.underlay.ttl == 64 && policy.underlay.flowID == .hash)
        #expect(
            policy.external
                == .init(
                    interface: "ext0", mac: MACAddress("02:4c:42:00:00:01")!,
                    gatewayMAC: MACAddress("02:00:00:00:00:fe")!))
        #expect(policy.routingDomains.map(\.name) == ["blue", "red"])
        #expect(policy.routingDomains.map(\.subnets) == [[5001, 5002], [6001]])
        #expect(policy.routingDomains.map(\.lookupRecords.count) == [3, 2])
        #expect(
            policy.routingDomains[1].lookupRecords[0]
                == .init(
                    vsid: 6001, ca: IPv4Address(10, 1, 6, 21), pa: IPv4Address(192, 168, 6, 5),
                    mac: MACAddress("00:15:5d:02:06:21")!))
        #expect(policy.loadBalancers.map(\.name) == ["blue-web", "blue-app", "red-web"])

        let web = policy.loadBalancers[0]
        #expect(web.routingDomain == "blue")
        #expect(web.frontends == [.init(vsid: nil, vip: IPv4Address(131, 107, 10, 10))])
        #expect(
            web.rules == [
                .init(
                    protocolNumber: .tcp, frontendPort: 80, backendPort: 80, idleTimeout: 240,
                    loadDistribution: .fiveTuple),
                .init(
                    protocolNumber: .udp, frontendPort: 53, backendPort: 5353, idleTimeout: 30,
                    loadDistribution: .fiveTuple),
            ])
        #expect(
            web.backends == [
                .init(vsid: 5001, ca: IPv4Address(10, 1, 6, 20), weight: 1),
                .init(vsid: 5001, ca: IPv4Address(10, 1, 6, 21), weight: 2),
            ])

        let app = policy.loadBalancers[1]
        #expect(app.frontends == [.init(vsid: 5002, vip: IPv4Address(10, 1, 5, 100))])
        #expect(app.rules.map(\.loadDistribution) == [.sourceIP])
    }

    @Test func tierToTierIsInternalOnlyWithOverlappingTenants() throws {
        let policy = try ConfigurationLoader.load(path: TestSupport.configPath("tier-to-tier.yaml"))
        #expect(policy.external == nil)
        #expect(policy.loadBalancers.allSatisfy { $0.frontends.allSatisfy { $0.vsid != nil } })
        #expect(policy.balancer.workers == .count(2))
        #expect(policy.balancer.hashSeed == 0x6e76_6c62)  // default
        #expect(policy.underlay.flowID == .zero)
        // Both tenants use 10.0.1.10 and the VIP 10.0.2.100, each in its own VSIDs.
        let contoso = Set(policy.routingDomains[0].lookupRecords.map(\.ca))
        let fabrikam = Set(policy.routingDomains[1].lookupRecords.map(\.ca))
        #expect(contoso.isSuperset(of: fabrikam))
        let vips = policy.loadBalancers.flatMap(\.frontends).filter { $0.vip == IPv4Address(10, 0, 2, 100) }
        #expect(vips.map(\.vsid) == [7001, 8001])
        // Defaults: backend_port = frontend_port, weight 1, five_tuple, 240 s.
        let appRule = policy.loadBalancers[0].rules[0]
        #expect(appRule.backendPort == 8080 && appRule.idleTimeout == 240 && appRule.loadDistribution == .fiveTuple)
        #expect(policy.loadBalancers[0].backends.map(\.weight) == [2, 2, 0])
        #expect(policy.loadBalancers[2].rules[0].backendPort == 80)
    }

    @Test func benchIsLarge() throws {
        let policy = try ConfigurationLoader.load(path: TestSupport.configPath("bench.yaml"))
        #expect(policy.routingDomains.count == 100)
        #expect(policy.loadBalancers.count == 1000)
        #expect(policy.loadBalancers.allSatisfy { $0.backends.count == 16 })
        #expect(policy.routingDomains.reduce(0) { $0 + $1.lookupRecords.count } == 16_000)
        let external = policy.loadBalancers.flatMap(\.frontends).filter { $0.vsid == nil }.map(\.vip)
        #expect(external.count == 500)
        #expect(Set(external).count == 500)
        // Each domain has its own VSIDs; CAs overlap across domains.
        #expect(Set(policy.routingDomains.flatMap(\.subnets)).count == 200)
        #expect(Set(policy.routingDomains.map { $0.lookupRecords.map(\.ca) }).count == 1)
        #expect(policy.balancer.maglevTableSize >= 100 * 16)
    }
}
