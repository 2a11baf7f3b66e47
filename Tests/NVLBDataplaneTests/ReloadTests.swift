import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// A policy reload on a running worker (docs/architecture.md "Snapshot publication" and "Backend selection"): a new `PolicySnapshot` is
/// swapped in under the same flow table.
@Suite struct ReloadTests {
    static let vm1 = TestPolicies.ip("10.1.6.20")
    static let vm2 = TestPolicies.ip("10.1.6.21")
    static let vm3 = TestPolicies.ip("10.1.6.22")
    static let vm4 = TestPolicies.ip("10.1.6.23")

    /// The example with blue-web on four equal DIPs 10.1.6.20–23 (VSID 5001).
    static func fourDIPs() -> PolicyConfiguration {
        var configuration = TestPolicies.example()
        configuration.routingDomains[0].lookupRecords += [
            .init(vsid: 5001, ca: vm3, pa: TestPolicies.ip("192.168.6.8"), mac: TestPolicies.mac("00:15:5d:01:06:22")),
            .init(vsid: 5001, ca: vm4, pa: TestPolicies.ip("192.168.6.9"), mac: TestPolicies.mac("00:15:5d:01:06:23")),
        ]
        configuration.loadBalancers[0].backends = [vm1, vm2, vm3, vm4].map { .init(vsid: 5001, ca: $0) }
        return configuration
    }

    /// Opens `count` external flows to blue-web (handshake completed for every other one)
    /// and returns the DIP of each, by client port.
    static func openFlows(_ harness: Harness, ports: Range<UInt16>) throws -> [UInt16: IPv4Address] {
        var dips: [UInt16: IPv4Address] = [:]
        for port in ports {
            let out = harness.run(Actors.external(sport: port, flags: .syn)).output
            let d = try #require(Traffic.delivery(out))
            dips[port] = d.dip
            if port % 2 == 0 {
                #expect(harness.run(try #require(Traffic.reply(to: out))).verdict == .forward(.external))
                #expect(
                    try #require(Traffic.delivery(harness.run(Actors.external(sport: port, flags: .ack)).output)).dip
                        == d.dip)
            }
        }
        return dips
    }

    static func dip(_ harness: Harness, port: UInt16, flags: TCPFlags = .ack) throws -> IPv4Address {
        try #require(Traffic.delivery(harness.run(Actors.external(sport: port, flags: flags)).output)).dip
    }

    @Test func drainedDIPKeepsItsFlowsAndGetsNoNewOnes() throws {
        let configuration = TestPolicies.example()
        let harness = Harness(configuration, flowCapacity: 8192)
        let before = try Self.openFlows(harness, ports: 10_000..<10_500)
        #expect(Set(before.values) == [Self.vm1, Self.vm2])

        var drained = configuration
        drained.loadBalancers[0].backends[1].weight = 0  // 10.1.6.21
        harness.snapshot = PolicySnapshot(configuration: drained)

        for (port, dip) in before {
            let out = harness.run(Actors.external(sport: port, flags: [.ack, .psh], payload: [1, 2, 3])).output
            let d = try #require(Traffic.delivery(out))
            #expect(d.dip == dip, "existing flow of port \(port) moved off its DIP")
            // The DIP's answer still reaches the client.
            let reply = harness.run(try #require(Traffic.reply(to: out, flags: .ack)))
            #expect(reply.verdict == .forward(.external))
        }
        for port in UInt16(20_000)..<20_500 {
            #expect(try Self.dip(harness, port: port, flags: .syn) == Self.vm1, "new flow sent to the drained DIP")
        }
        let counters = harness.counters
        #expect(counters.dropped == 0)
        #expect(harness.accountingBalances)
    }

    @Test func removingADIPReHomesOnlyItsFlows() throws {
        let configuration = Self.fourDIPs()
        let harness = Harness(configuration, flowCapacity: 16_384)
        let before = try Self.openFlows(harness, ports: 10_000..<12_000)
        #expect(Set(before.values) == [Self.vm1, Self.vm2, Self.vm3, Self.vm4])

        var removed = configuration
        removed.loadBalancers[0].backends.removeAll { $0.ca == Self.vm2 }
        harness.snapshot = PolicySnapshot(configuration: removed)
        // What a worker that never saw the old policy chooses.
        let fresh = Harness(removed, flowCapacity: 16_384)

        var moved = 0
        for (port, dip) in before {
            let now = try Self.dip(harness, port: port)
            if dip == Self.vm2 {
                moved += 1
                #expect(now != Self.vm2)
                #expect(now == (try Self.dip(fresh, port: port)), "re-homed by the new Maglev table")
                #expect(try Self.dip(harness, port: port) == now, "and stays there")
            } else {
                #expect(now == dip, "flow of port \(port) on \(dip) moved to \(now)")
            }
        }
        let onRemoved = before.values.filter { $0 == Self.vm2 }.count
        #expect(moved == onRemoved)
        #expect(onRemoved > 350 && onRemoved < 650, "about a quarter of 2,000 flows: \(onRemoved)")
        #expect(harness.counters.dropped == 0)
    }

    @Test func reorderedBackendsKeepFlowsAndCountByName() throws {
        let configuration = Self.fourDIPs()
        let harness = Harness(configuration, flowCapacity: 4096)
        let before = try Self.openFlows(harness, ports: 10_000..<10_400)
        var reordered = configuration
        reordered.loadBalancers[0].backends.reverse()
        harness.snapshot = PolicySnapshot(configuration: reordered)
        let countsBefore = harness.counters.backends["blue-web"] ?? [:]
        var expected = countsBefore
        for (port, dip) in before {
            #expect(try Self.dip(harness, port: port) == dip)
            expected["5001/\(dip)", default: 0] += 1
        }
        #expect(harness.counters.backends["blue-web"] == expected)
    }

    enum FlowKind: CaseIterable { case external, `internal` }

    @Test(arguments: FlowKind.allCases)
    func lookupRecordPAChangeIsUsedForAnExistingFlow(_ kind: FlowKind) throws {
        let configuration = TestPolicies.goldenExample()  // Blue's only DIP: 10.1.6.21 on 192.168.6.4
        let harness = Harness(configuration)
        let client = TenantVM.exampleClient
        func request(_ flags: TCPFlags) -> [UInt8] {
            switch kind {
            case .external: Actors.external(flags: flags)
            case .internal: client.tcp(to: Actors.appVIP, sport: 50000, dport: 8080, flags: flags)
            }
        }
        let first = harness.run(request(.syn))
        let before = try #require(Traffic.delivery(first.output))
        #expect(before.pa == TestPolicies.ip("192.168.6.4"))
        #expect(ParsedFrame(first.output)?.destination == Actors.host1MAC)  // static neighbour

        // VM2 migrates to host 192.168.6.44 (no static neighbour: next hop = gateway MAC).
        var moved = configuration
        let index = try #require(moved.routingDomains[0].lookupRecords.firstIndex { $0.ca == Self.vm2 })
        moved.routingDomains[0].lookupRecords[index].pa = TestPolicies.ip("192.168.6.44")
        harness.snapshot = PolicySnapshot(configuration: moved)

        let second = harness.run(request(.ack))
        #expect(second.verdict == .forward(.underlay))
        let after = try #require(Traffic.delivery(second.output))
        #expect(after.pa == TestPolicies.ip("192.168.6.44"))
        #expect(ParsedFrame(second.output)?.destination == TestPolicies.mac("02:00:00:00:06:01"))
        #expect(after.dip == before.dip && after.vsid == before.vsid && after.dipMAC == before.dipMAC)
        #expect(try #require(ParsedFrame(second.output)).checksumsValid)

        // Replies: from the new host they pass; the old host is now a spoofer.
        let reply = try #require(Traffic.reply(to: second.output, flags: .ack))
        #expect(harness.run(reply).verdict == .forward(kind == .external ? .external : .underlay))
        let stale = try #require(Traffic.reply(to: first.output, flags: .ack))
        #expect(harness.run(stale).verdict == .drop(.spoofed))
    }

    @Test func aChangedBackendPortAppliesToNewConnectionsOnly() throws {
        let harness = Harness(TestPolicies.goldenExample())
        let open = harness.run(Actors.external(sport: 41000, flags: .syn))
        #expect(try ParsedFrame.parse(open.output).inner?.tcp?.destinationPort == 80)
        var changed = TestPolicies.goldenExample()
        changed.loadBalancers[0].rules[0].backendPort = 8081
        harness.snapshot = PolicySnapshot(configuration: changed)
        // The open connection keeps the port it was opened with …
        let next = harness.run(Actors.external(sport: 41000, flags: .ack))
        #expect(try ParsedFrame.parse(next.output).inner?.tcp?.destinationPort == 80)
        // … a new one uses the new backend port.
        let fresh = harness.run(Actors.external(sport: 41001, flags: .syn))
        #expect(try ParsedFrame.parse(fresh.output).inner?.tcp?.destinationPort == 8081)
    }
}
