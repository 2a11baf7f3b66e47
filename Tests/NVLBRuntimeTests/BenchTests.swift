import Foundation
import NVLBPolicy
import NVLBRuntime
import NVLBTestSupport
import Testing

/// `nvlb bench` end to end on a small run: every prebuilt frame is forwarded (no drops),
/// figures are present per worker, and the JSON has the keys described in docs/statistics.md.
@Suite struct BenchTests {
    @Test(arguments: [1, 2])
    func smallRunForwardsEverythingAndReports(workers: Int) throws {
        let snapshot = PolicySnapshot(configuration: TestPolicies.example())
        var options = Bench.Options(workers: workers, flows: 2_000, seconds: 0.2)
        options.pinWorkers = false
        let result = try Bench.run(snapshot: snapshot, options: options) { _ in }
        #expect(result.workers == workers)
        #expect(result.flows == 2_000)
        #expect(result.drops == 0)
        #expect(result.packets > 0 && result.mpps > 0 && result.copyMpps > 0)
        #expect(result.mppsPerWorker.count == workers)
        #expect(result.nsPerPacket > 0)
        let json = try JSONSerialization.jsonObject(with: Data(result.json().utf8)) as? [String: Any]
        #expect(
            Set(json?.keys.map { $0 } ?? []) == [
                "workers", "flows", "seconds", "packets", "mpps", "mpps_per_worker", "ns_per_packet", "copy_mpps",
                "ratio_to_copy", "drops",
            ])
    }
}
