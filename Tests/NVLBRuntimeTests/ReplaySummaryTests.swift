import NVLBDataplane
import NVLBPolicy
import NVLBRuntime
import NVLBTestSupport
import Testing

@Suite struct ReplaySummaryTests {
    @Test func sharesPerDIPDropsAndAffinityNote() {
        var counters = CounterSnapshot()
        counters.packetsIn = 10
        counters.packetsOut = 8
        counters.dropped = 2
        counters.drops = [.noVIP: 2]
        counters.backends = [
            "blue-web": ["5001/10.1.6.20": 2, "5001/10.1.6.21": 6], "blue-app": ["5001/10.1.6.21": 4],
        ]
        let snapshot = PolicySnapshot(configuration: TestPolicies.example())
        let stats = ReplayStatistics(counters: counters, snapshot: snapshot, workers: 2, seconds: 1)
        let text = ReplaySummary.render(stats, configuration: TestPolicies.example())
        #expect(text.contains("packets: 10 in, 8 out, 0 answered, 2 dropped"))
        #expect(text.contains("blue-web: 8 packets to DIPs\n"))
        #expect(text.contains("    5001/10.1.6.21             6   75.0 %"))
        #expect(text.contains("blue-app: 4 packets to DIPs (source-address affinity"))
        #expect(text.contains("red-web: 0 packets to DIPs"))
        #expect(text.hasSuffix("drops: no_vip 2"))
    }
}
