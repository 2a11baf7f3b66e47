import NVLBControl
import NVLBTestSupport
import Testing

@Suite("Configuration summary")
struct ConfigurationSummaryTests {
    @Test func exampleSummary() throws {
        let policy = try ConfigurationLoader.load(path: TestSupport.configPath("example.yaml"))
        let expected = """
            configuration valid: 2 routing domains, 3 load balancers, 4 rules, 6 backends
            balancer: workers auto, flow table 1048576 per worker, maglev table 65537, hash seed 0x6e766c62
            underlay: 192.168.6.2 02:4c:42:00:06:02 on pa0, gateway 02:00:00:00:06:01, 1 neighbor, mtu 1500, ttl 64, flow_id hash
            external: 02:4c:42:00:00:01 on ext0, gateway 02:00:00:00:00:fe

            routing domains:
              blue: VSIDs 5001, 5002; 3 lookup records; gateway MAC 02:4c:42:00:b1:00
              red: VSIDs 6001; 2 lookup records; gateway MAC 02:4c:42:00:e1:00

            load balancers:
              blue-web (routing domain blue)
                frontends: 131.107.10.10 (external)
                rules:     tcp 80 -> 80, five_tuple, idle 240 s
                           udp 53 -> 5353, five_tuple, idle 30 s
                backends:  5001/10.1.6.20 weight 1, 5001/10.1.6.21 weight 2
              blue-app (routing domain blue)
                frontends: 10.1.5.100 (VSID 5002)
                rules:     tcp 8080 -> 8080, source_ip, idle 240 s
                backends:  5001/10.1.6.20 weight 1, 5001/10.1.6.21 weight 1
              red-web (routing domain red)
                frontends: 131.107.20.20 (external)
                rules:     tcp 443 -> 443, five_tuple, idle 240 s
                backends:  6001/10.1.6.21 weight 1, 6001/10.1.6.22 weight 1

            """
        #expect(ConfigurationSummary.render(policy) == expected)
    }

    @Test func largeConfigurationsStayOnOneScreen() throws {
        let policy = try ConfigurationLoader.load(path: TestSupport.configPath("example.yaml"))
        let text = ConfigurationSummary.render(policy, limit: 1)
        #expect(text.contains("  … and 1 more routing domain\n"))
        #expect(text.contains("  … and 2 more load balancers\n"))
        #expect(text.contains("backends:  5001/10.1.6.20 weight 1, … and 1 more backend\n"))
        #expect(text.contains("               … and 1 more rule\n"))
        #expect(text.hasPrefix("configuration valid: 2 routing domains, 3 load balancers, 4 rules, 6 backends\n"))
    }
}
