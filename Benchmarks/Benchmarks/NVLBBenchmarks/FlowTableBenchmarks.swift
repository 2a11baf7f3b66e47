import Benchmark
import NVLBBalancing
import NVLBDataplane
import NVLBTraffic

/// The request key of a flow as the classifier hands it to the flow table.
struct FlowKey {
    var hash: UInt32
    var clientIP: UInt32
    var clientPort: UInt16
}

/// A flow table pre-populated with `flows` established TCP flows to one VIP, and a
/// random permutation of keys to look up: those of the stored flows (hits) or of
/// flows never stored (misses).
final class FlowTableFixture {
    static let vip: UInt32 = 0x836B_0A0A
    static let vipPort: UInt16 = 80

    let table: FlowTable
    let keys: UnsafeMutablePointer<FlowKey>
    let keyCount: Int
    var cursor = 0
    /// Inserts that found the probe window full of established flows (not looked up).
    let rejected: Int

    let memory: HugePageMemory?

    init(flows: Int, capacity: Int, hits: Bool, hugePages: Bool) {
        let hasher = FlowHasher(seed: 0x6e76_6c62)
        memory = flowTableMemory(capacity: capacity, hugePages: hugePages)
        table = makeFlowTable(capacity: capacity, memory: memory)
        func key(_ i: Int) -> FlowKey {
            // Distinct (IP, port) per flow: 100.64.0.0/10 clients, 64 ports each.
            let ip = UInt32(0x6440_0000) &+ UInt32(i >> 6)
            let port = UInt16(32_768 + (i & 63) * 401)
            return FlowKey(
                hash: hasher.flowHash(protocolNumber: 6, clientIP: ip, clientPort: port), clientIP: ip,
                clientPort: port)
        }
        var stored: [FlowKey] = []
        stored.reserveCapacity(flows)
        var rejected = 0
        for i in 0..<flows {
            let k = key(i)
            let entry = FlowEntry(
                hash: k.hash, lastSeen: benchmarkNow, protocolNumber: 6, clientIP: k.clientIP, clientPort: k.clientPort,
                clientVSID: 0, vip: Self.vip, vipPort: Self.vipPort, dipVSID: 5001, dipCA: 0x0A01_0615, backendPort: 80,
                backendSlot: 0, generation: 1, idleTimeout: 240, state: [.clientSeen, .backendSeen, .established])
            if case .full = table.insert(entry, hash: k.hash, now: benchmarkNow) {
                rejected += 1
            } else {
                stored.append(k)
            }
        }
        self.rejected = rejected
        var lookups = hits ? stored : (flows..<(2 * flows)).map(key)
        var generator = Xoshiro256(seed: UInt64(flows))
        lookups.shuffle(using: &generator)
        keyCount = lookups.count
        keys = .allocate(capacity: keyCount)
        keys.initialize(from: lookups, count: keyCount)
        // The benchmark must measure what it says: every hit found, every miss missed.
        for j in 0..<keyCount {
            let found = find(keys[j]) != nil
            precondition(found == hits, "flow table fixture: lookup \(j) gave \(found), expected \(hits)")
        }
    }

    deinit { keys.deallocate() }

    @inline(__always)
    func find(_ k: FlowKey) -> Int? {
        table.findRequest(
            hash: k.hash, protocolNumber: 6, clientIP: k.clientIP, clientPort: k.clientPort, clientVSID: 0,
            vip: Self.vip, vipPort: Self.vipPort, now: benchmarkNow)
    }
}

func flowTableBenchmarks() {
    // `.HugePages`: the same table on 2 MiB pages (see HugePageMemory).
    let sizes: [(name: String, flows: Int, capacity: Int, hugePages: Bool)] = [
        ("10k", 10_000, 16_384, false),
        ("1M", 1_000_000, 2_097_152, false),
        ("1M.HugePages", 1_000_000, 2_097_152, true),
    ]
    for size in sizes {
        for hits in [true, false] {
            Benchmark(
                "FlowTable.\(hits ? "Hit" : "Miss").\(size.name)", configuration: Configurations.perOperation
            ) { (benchmark: Benchmark, fixture: FlowTableFixture) in
                let keys = fixture.keys
                let count = fixture.keyCount
                var cursor = fixture.cursor
                for _ in benchmark.scaledIterations {
                    blackHole(fixture.find(keys[cursor]) ?? -1)
                    cursor &+= 1
                    if cursor == count { cursor = 0 }
                }
                fixture.cursor = cursor
            } setup: {
                FlowTableFixture(flows: size.flows, capacity: size.capacity, hits: hits, hugePages: size.hugePages)
            }
        }
    }
}
