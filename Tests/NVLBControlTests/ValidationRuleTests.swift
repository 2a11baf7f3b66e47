import NVLBControl
import Testing

/// One test per semantic validation rule of docs/configuration.md: a small
/// invalid file, and the exact diagnostic (position, key path, message) it must produce.
@Suite("Validation rules")
struct ValidationRuleTests {
    @Test func baseConfigurationIsValid() {
        #expect(problems(baseYAML) == [])
    }

    // MARK: balancer

    @Test func workersOutOfRange() {
        #expect(
            problems(base(appending: "balancer: { workers: 257 }\n")) == [
                "t.yaml:20:22: balancer.workers: must be 'auto' or between 1 and 256, found 257"
            ])
    }

    @Test func flowTableCapacityMustBeAPowerOfTwo() {
        #expect(
            problems(base(appending: "balancer: { flow_table_capacity: 100000 }\n")) == [
                "t.yaml:20:34: balancer.flow_table_capacity: must be a power of two between 1024 and 67108864, found 100000"
            ])
        #expect(
            problems(base(appending: "balancer: { flow_table_capacity: 512 }\n")) == [
                "t.yaml:20:34: balancer.flow_table_capacity: must be a power of two between 1024 and 67108864, found 512"
            ])
    }

    @Test func maglevTableSizeMustBePrime() {
        #expect(
            problems(base(appending: "balancer: { maglev_table_size: 65536 }\n")) == [
                "t.yaml:20:32: balancer.maglev_table_size: must be a prime number between 101 and 16777213, found 65536"
            ])
    }

    @Test func maglevTableSizeMustHold100SlotsPerBackend() {
        // 2 backends need 200 slots; 199 is prime but too small.
        let yaml = base(
            replacing: (
                "{ vsid: 5001, ca: 10.1.6.20 } ]", "{ vsid: 5001, ca: 10.1.6.20 }, { vsid: 5002, ca: 10.1.5.20 } ]"
            ),
            appending: "balancer: { maglev_table_size: 199 }\n")
        #expect(
            problems(yaml) == [
                "t.yaml:20:32: balancer.maglev_table_size: 199 is too small for load balancer web: its 2 backends need at least 200 slots (100 per backend)"
            ])
    }

    @Test func defaultMaglevTableSizeTooSmallIsReportedAtTheBackends() {
        // 656 backends need 65,600 slots > 65,537 (the default): generate them.
        var records = ""
        var backends = ""
        for index in 0..<656 {
            let ca = "10.2.\(index / 256).\(index % 256)"
            records +=
                "      - { vsid: 5001, ca: \(ca), pa: 192.168.6.3, mac: 00:15:5d:02:\(String(format: "%02x", index / 256)):\(String(format: "%02x", index % 256)) }\n"
            backends += "      - { vsid: 5001, ca: \(ca) }\n"
        }
        let yaml = base(
            replacing: ("    lookup_records:\n", "    lookup_records:\n" + records),
            ("backends: [ { vsid: 5001, ca: 10.1.6.20 } ]", "backends:\n" + backends))
        #expect(
            problems(yaml) == [
                "t.yaml:676:7: load_balancers[0].backends: load balancer web has 656 backends: balancer.maglev_table_size must be at least 65600 (100 per backend), the default is 65537"
            ])
    }

    @Test func hashSeedOutOfRange() {
        #expect(
            problems(base(appending: "balancer: { hash_seed: 0x100000000 }\n")) == [
                "t.yaml:20:24: balancer.hash_seed: must be between 0 and 4294967295 (0xffffffff), found 4294967296"
            ])
        #expect(
            problems(base(appending: "balancer: { hash_seed: -1 }\n")) == [
                "t.yaml:20:24: balancer.hash_seed: must be between 0 and 4294967295 (0xffffffff), found -1"
            ])
    }

    // MARK: underlay and external

    @Test func mtuOutOfRange() {
        #expect(
            problems(base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n  mtu: 9217"))) == [
                "t.yaml:4:8: underlay.mtu: must be between 576 and 9216, found 9217"
            ])
    }

    @Test func ttlOutOfRange() {
        #expect(
            problems(base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n  ttl: 0"))) == [
                "t.yaml:4:8: underlay.ttl: must be between 1 and 255, found 0"
            ])
    }

    @Test func addressMustBeUnicast() {
        #expect(
            problems(base(replacing: ("address: 192.168.6.2", "address: 224.0.0.1"))) == [
                "t.yaml:2:12: underlay.address: 224.0.0.1 is not a unicast address (0/8, 127/8 and 224/3 are excluded)"
            ])
    }

    @Test func macMustBeUnicast() {
        #expect(
            problems(base(replacing: ("gateway_mac: 02:4c:42:00:b1:00", "gateway_mac: 33:33:00:00:00:01"))) == [
                "t.yaml:9:18: routing_domains[0].gateway_mac: 33:33:00:00:00:01 is not a unicast MAC address"
            ])
        #expect(
            problems(base(replacing: ("  mac: 02:4c:42:00:00:01", "  mac: 00:00:00:00:00:00"))) == [
                "t.yaml:5:8: external.mac: 00:00:00:00:00:00 is not a unicast MAC address"
            ])
    }

    @Test func neighborAddressesAreUnique() {
        let neighbors = """
              neighbors:
                - { address: 192.168.6.4, mac: 02:00:00:00:06:04 }
                - { address: 192.168.6.4, mac: 02:00:00:00:06:05 }
            """
        #expect(
            problems(base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n" + neighbors))) == [
                "t.yaml:6:18: underlay.neighbors[1].address: duplicate neighbor 192.168.6.4 (also underlay.neighbors[0])"
            ])
    }

    @Test func neighborIsNotNvlbsOwnAddress() {
        let neighbors = "  neighbors: [ { address: 192.168.6.2, mac: 02:00:00:00:06:04 } ]"
        #expect(
            problems(base(replacing: ("  mac: 02:4c:42:00:06:02", "  mac: 02:4c:42:00:06:02\n" + neighbors))) == [
                "t.yaml:4:27: underlay.neighbors[0].address: 192.168.6.2 is nvlb's own address (underlay.address)"
            ])
    }

    @Test func interfaceMustNotBeEmpty() {
        #expect(
            problems(base(replacing: ("external:\n", "external:\n  interface: ''\n"))) == [
                "t.yaml:5:14: external.interface: must not be empty"
            ])
    }

    @Test func externalSectionRequiredForExternalFrontends() {
        let yaml = base(replacing: ("external:\n  mac: 02:4c:42:00:00:01\n  gateway_mac: 02:00:00:00:00:fe\n", ""))
        #expect(
            problems(yaml) == [
                "t.yaml:14:18: load_balancers[0].frontends[0]: an external frontend (no vsid) needs the 'external' section"
            ])
    }

    // MARK: routing domains

    @Test func routingDomainNameMustNotBeEmpty() {
        #expect(
            problems(
                base(replacing: ("  - name: blue", "  - name: ''"), ("routing_domain: blue", "routing_domain: ''")))
                == [
                    "t.yaml:8:11: routing_domains[0].name: must not be empty",
                    "t.yaml:16:21: load_balancers[0].routing_domain: no routing domain named ",
                ])
    }

    @Test func namesUseASafeCharacterSet() {
        #expect(
            problems(base(replacing: ("  - name: web", "  - name: web tier"))) == [
                "t.yaml:15:11: load_balancers[0].name: may contain only letters, digits, '-', '_' and '.', found 'web tier'"
            ])
    }

    @Test func routingDomainNamesAreUnique() {
        let yaml = base(
            replacing: (
                "routing_domains:\n",
                "routing_domains:\n  - { name: blue, gateway_mac: 02:4c:42:00:e1:00, subnets: [6001] }\n"
            ))
        #expect(
            problems(yaml) == [
                "t.yaml:9:11: routing_domains[1].name: duplicate routing domain name blue (also routing_domains[0].name)"
            ])
    }

    @Test func routingDomainNeedsASubnet() {
        #expect(
            problems(base(replacing: ("subnets: [5001, 5002]", "subnets: []"))) == [
                "t.yaml:10:14: routing_domains[0].subnets: a routing domain needs at least one subnet (VSID)",
                "t.yaml:12:17: routing_domains[0].lookup_records[0].vsid: VSID 5001 is not a subnet of routing domain blue",
                "t.yaml:13:17: routing_domains[0].lookup_records[1].vsid: VSID 5002 is not a subnet of routing domain blue",
                "t.yaml:19:25: load_balancers[0].backends[0].vsid: VSID 5001 is not a subnet of routing domain blue",
            ])
    }

    @Test func subnetVSIDMustBeInRange() {
        #expect(
            problems(base(replacing: ("subnets: [5001, 5002]", "subnets: [5001, 5002, 4095, 16777215]"))) == [
                "t.yaml:10:27: routing_domains[0].subnets[2]: VSID 4095 is reserved or out of range (valid: 4096–16777214)",
                "t.yaml:10:33: routing_domains[0].subnets[3]: VSID 16777215 is reserved or out of range (valid: 4096–16777214)",
            ])
    }

    @Test func subnetListedTwiceInADomain() {
        #expect(
            problems(base(replacing: ("subnets: [5001, 5002]", "subnets: [5001, 5002, 5001]"))) == [
                "t.yaml:10:27: routing_domains[0].subnets[2]: duplicate VSID 5001 (also routing_domains[0].subnets[0])"
            ])
    }

    @Test func subnetBelongsToOnlyOneRoutingDomain() {
        let yaml = base(
            replacing: (
                "routing_domains:\n",
                "routing_domains:\n  - { name: red, gateway_mac: 02:4c:42:00:e1:00, subnets: [6001, 5002] }\n"
            ))
        #expect(
            problems(yaml) == [
                "t.yaml:11:21: routing_domains[1].subnets[1]: VSID 5002 already belongs to routing domain red (routing_domains[0].subnets[1])",
                "t.yaml:14:17: routing_domains[1].lookup_records[1].vsid: VSID 5002 is not a subnet of routing domain blue",
            ])
    }

    @Test func lookupRecordVSIDMustBeASubnetOfItsDomain() {
        #expect(
            problems(base(replacing: ("{ vsid: 5002, ca: 10.1.5.20", "{ vsid: 5003, ca: 10.1.5.20"))) == [
                "t.yaml:13:17: routing_domains[0].lookup_records[1].vsid: VSID 5003 is not a subnet of routing domain blue"
            ])
    }

    @Test func lookupRecordsAreUniquePerVSIDAndCA() {
        #expect(
            problems(base(replacing: ("{ vsid: 5002, ca: 10.1.5.20", "{ vsid: 5001, ca: 10.1.6.20"))) == [
                "t.yaml:13:9: routing_domains[0].lookup_records[1]: duplicate lookup record for VSID 5001 CA 10.1.6.20 (also routing_domains[0].lookup_records[0])"
            ])
    }

    @Test func caIsUniqueWithinARoutingDomain() {
        #expect(
            problems(base(replacing: ("{ vsid: 5002, ca: 10.1.5.20", "{ vsid: 5002, ca: 10.1.6.20"))) == [
                "t.yaml:13:27: routing_domains[0].lookup_records[1].ca: CA 10.1.6.20 is already used by VSID 5001 in routing domain blue (routing_domains[0].lookup_records[0]); a CA must be unique within a routing domain"
            ])
    }

    @Test func caMayRepeatInAnotherRoutingDomain() throws {
        let yaml = base(
            replacing: (
                "routing_domains:\n",
                "routing_domains:\n  - { name: red, gateway_mac: 02:4c:42:00:e1:00, subnets: [6001], lookup_records: [ { vsid: 6001, ca: 10.1.6.20, pa: 192.168.6.5, mac: 00:15:5d:02:06:20 } ] }\n"
            ))
        let policy = try configuration(yaml)
        #expect(policy.routingDomains.map(\.lookupRecords.count) == [1, 2])
    }

    @Test func lookupRecordPAIsNotNvlbsOwnAddress() {
        #expect(
            problems(base(replacing: ("pa: 192.168.6.7", "pa: 192.168.6.2"))) == [
                "t.yaml:13:42: routing_domains[0].lookup_records[1].pa: PA 192.168.6.2 is nvlb's own address (underlay.address)"
            ])
    }

    // MARK: load balancers

    @Test func loadBalancerNamesAreUnique() {
        let yaml = base(
            appending: """
                  - name: web
                    routing_domain: blue
                    frontends: [ { vip: 131.107.10.11 } ]
                    rules: [ { protocol: tcp, frontend_port: 80 } ]
                    backends: [ { vsid: 5001, ca: 10.1.6.20 } ]

                """)
        #expect(
            problems(yaml) == [
                "t.yaml:20:11: load_balancers[1].name: duplicate load balancer name web (also load_balancers[0].name)"
            ])
    }

    @Test func routingDomainOfALoadBalancerMustExist() {
        #expect(
            problems(base(replacing: ("routing_domain: blue", "routing_domain: green"))) == [
                "t.yaml:16:21: load_balancers[0].routing_domain: no routing domain named green"
            ])
    }

    @Test func loadBalancerNeedsAFrontend() {
        #expect(
            problems(base(replacing: ("frontends: [ { vip: 131.107.10.10 } ]", "frontends: []"))) == [
                "t.yaml:17:16: load_balancers[0].frontends: a load balancer needs at least one frontend"
            ])
    }

    @Test func loadBalancerNeedsARule() {
        #expect(
            problems(base(replacing: ("rules: [ { protocol: tcp, frontend_port: 80 } ]", "rules: []"))) == [
                "t.yaml:18:12: load_balancers[0].rules: a load balancer needs at least one rule"
            ])
    }

    @Test func loadBalancerNeedsABackend() {
        #expect(
            problems(base(replacing: ("backends: [ { vsid: 5001, ca: 10.1.6.20 } ]", "backends: []"))) == [
                "t.yaml:19:15: load_balancers[0].backends: a load balancer needs at least one backend"
            ])
    }

    @Test func frontendVSIDMustBeInRange() {
        #expect(
            problems(base(replacing: ("{ vip: 131.107.10.10 }", "{ vsid: 70, vip: 10.1.5.100 }"))) == [
                "t.yaml:17:26: load_balancers[0].frontends[0].vsid: VSID 70 is reserved or out of range (valid: 4096–16777214)"
            ])
    }

    @Test func frontendVSIDMustBelongToTheLoadBalancersRoutingDomain() {
        let yaml = base(
            replacing: (
                "routing_domains:\n",
                "routing_domains:\n  - { name: red, gateway_mac: 02:4c:42:00:e1:00, subnets: [6001] }\n"
            ),
            ("{ vip: 131.107.10.10 }", "{ vsid: 6001, vip: 10.1.5.100 }"))
        #expect(
            problems(yaml) == [
                "t.yaml:18:26: load_balancers[0].frontends[0].vsid: VSID 6001 belongs to routing domain red, not to blue"
            ])
    }

    @Test func frontendVSIDMustBeASubnet() {
        #expect(
            problems(base(replacing: ("{ vip: 131.107.10.10 }", "{ vsid: 7001, vip: 10.1.5.100 }"))) == [
                "t.yaml:17:26: load_balancers[0].frontends[0].vsid: VSID 7001 is not a subnet of routing domain blue"
            ])
    }

    @Test func internalVIPMustNotShadowAVM() {
        #expect(
            problems(base(replacing: ("{ vip: 131.107.10.10 }", "{ vsid: 5002, vip: 10.1.5.20 }"))) == [
                "t.yaml:17:37: load_balancers[0].frontends[0].vip: VIP 10.1.5.20 is the CA of a VM in routing domain blue (VSID 5002, routing_domains[0].lookup_records[1]); it would shadow that VM"
            ])
    }

    @Test func externalVIPIsNotNvlbsOwnPA() {
        #expect(
            problems(base(replacing: ("{ vip: 131.107.10.10 }", "{ vip: 192.168.6.2 }"))) == [
                "t.yaml:17:25: load_balancers[0].frontends[0].vip: VIP 192.168.6.2 is nvlb's own provider address (underlay.address)"
            ])
    }

    @Test func frontendsOfALoadBalancerAreDistinct() {
        #expect(
            problems(base(replacing: ("{ vip: 131.107.10.10 } ]", "{ vip: 131.107.10.10 }, { vip: 131.107.10.10 } ]")))
                == [
                    "t.yaml:17:42: load_balancers[0].frontends[1]: duplicate frontend (also load_balancers[0].frontends[0])"
                ])
    }

    @Test func rulesClaimEachVIPProtocolAndPortOnce() {
        let yaml = base(
            appending: """
                  - name: other
                    routing_domain: blue
                    frontends: [ { vip: 131.107.10.10 } ]
                    rules: [ { protocol: udp, frontend_port: 80 }, { protocol: tcp, frontend_port: 80, backend_port: 81 } ]
                    backends: [ { vsid: 5002, ca: 10.1.5.20 } ]

                """)
        #expect(
            problems(yaml) == [
                "t.yaml:23:52: load_balancers[1].rules[1]: tcp port 80 of VIP 131.107.10.10 (external) is already claimed by load balancer web (load_balancers[0].rules[0])"
            ])
    }

    @Test func internalClaimsAreKeyedByVSID() {
        // The same CA VIP and port in two VSIDs is fine; twice in one VSID is not.
        let yaml = base(
            replacing: (
                "{ vip: 131.107.10.10 } ]", "{ vsid: 5001, vip: 10.1.5.100 }, { vsid: 5002, vip: 10.1.5.100 } ]"
            ),
            appending: """
                  - name: other
                    routing_domain: blue
                    frontends: [ { vsid: 5002, vip: 10.1.5.100 } ]
                    rules: [ { protocol: tcp, frontend_port: 80 } ]
                    backends: [ { vsid: 5002, ca: 10.1.5.20 } ]

                """)
        #expect(
            problems(yaml) == [
                "t.yaml:23:14: load_balancers[1].rules[0]: tcp port 80 of VIP 10.1.5.100 (VSID 5002) is already claimed by load balancer web (load_balancers[0].rules[0])"
            ])
    }

    @Test func portsAreInRange() {
        #expect(
            problems(base(replacing: ("frontend_port: 80 }", "frontend_port: 65536, backend_port: 0 }"))) == [
                "t.yaml:18:46: load_balancers[0].rules[0].frontend_port: must be between 1 and 65535, found 65536",
                "t.yaml:18:67: load_balancers[0].rules[0].backend_port: must be between 1 and 65535, found 0",
            ])
    }

    @Test func idleTimeoutIsInRange() {
        #expect(
            problems(base(replacing: ("frontend_port: 80 }", "frontend_port: 80, idle_timeout: 86401 }"))) == [
                "t.yaml:18:64: load_balancers[0].rules[0].idle_timeout: must be between 1 and 86400, found 86401"
            ])
    }

    @Test func weightIsInRange() {
        #expect(
            problems(base(replacing: ("ca: 10.1.6.20 } ]", "ca: 10.1.6.20, weight: 1001 } ]"))) == [
                "t.yaml:19:54: load_balancers[0].backends[0].weight: must be between 0 and 1000, found 1001"
            ])
    }

    @Test func backendNeedsALookupRecordInTheRoutingDomain() {
        #expect(
            problems(base(replacing: ("ca: 10.1.6.20 } ]", "ca: 10.1.6.99 } ]"))) == [
                "t.yaml:19:17: load_balancers[0].backends[0]: no lookup record for VSID 5001 CA 10.1.6.99 in routing domain blue"
            ])
    }

    @Test func backendVSIDMustBelongToTheRoutingDomain() {
        let yaml = base(
            replacing: (
                "routing_domains:\n",
                "routing_domains:\n  - { name: red, gateway_mac: 02:4c:42:00:e1:00, subnets: [6001], lookup_records: [ { vsid: 6001, ca: 10.1.6.30, pa: 192.168.6.5, mac: 00:15:5d:02:06:30 } ] }\n"
            ),
            ("{ vsid: 5001, ca: 10.1.6.20 } ]", "{ vsid: 6001, ca: 10.1.6.30 } ]"))
        #expect(
            problems(yaml) == [
                "t.yaml:20:25: load_balancers[0].backends[0].vsid: VSID 6001 belongs to routing domain red, not to blue"
            ])
    }

    @Test func backendsOfALoadBalancerAreDistinct() {
        #expect(
            problems(
                base(replacing: ("ca: 10.1.6.20 } ]", "ca: 10.1.6.20 }, { vsid: 5001, ca: 10.1.6.20, weight: 3 } ]")))
                == [
                    "t.yaml:19:48: load_balancers[0].backends[1]: duplicate backend VSID 5001 CA 10.1.6.20 (also load_balancers[0].backends[0])"
                ])
    }
}
