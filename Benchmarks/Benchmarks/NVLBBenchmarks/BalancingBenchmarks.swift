import Benchmark
import NVLBBalancing
import NVLBTraffic

/// 65,536 random 64-bit hashes, looked up in turn (a table larger than L1 would be
/// walked at random by real traffic).
final class HashStream {
    static let count = 65_536
    let values: UnsafeMutablePointer<UInt64>
    var cursor = 0

    init(seed: UInt64) {
        values = .allocate(capacity: Self.count)
        var generator = Xoshiro256(seed: seed)
        for i in 0..<Self.count { (values + i).initialize(to: generator.next()) }
    }

    deinit { values.deallocate() }
}

final class MaglevFixture {
    let table: MaglevTable
    let hashes = HashStream(seed: 7)
    init(_ table: MaglevTable) { self.table = table }
}

/// `count` DIPs as the policy names them: identity `VSID << 32 | CA`.
func maglevBackends(count: Int, weighted: Bool) -> [MaglevBackend] {
    (0..<count).map { i in
        let ca = UInt32(0x0A01_0000) &+ UInt32(i)
        return MaglevBackend(identity: UInt64(5001) << 32 | UInt64(ca), weight: weighted ? UInt32(1 + i % 10) : 1)
    }
}

func balancingBenchmarks() {
    let hasher = FlowHasher(seed: 0x6e76_6c62)

    // The flow-table / steering hash of every packet: XXH64 of (protocol, client IP, port).
    Benchmark("Balancing.FlowHash", configuration: Configurations.perOperation) { (benchmark: Benchmark, _: Void) in
        var ip: UInt32 = 0xCB00_7107
        for i in benchmark.scaledIterations {
            ip &+= 0x9E37_79B9
            blackHole(hasher.flowHash(protocolNumber: 6, clientIP: ip, clientPort: UInt16(truncatingIfNeeded: i)))
        }
    } setup: {
        ()
    }

    // The DIP-selection hash of a new flow: XXH64 of the 16-byte 5-tuple key.
    Benchmark("Balancing.SelectionHash", configuration: Configurations.perOperation) {
        (benchmark: Benchmark, _: Void) in
        var ip: UInt32 = 0xCB00_7107
        for i in benchmark.scaledIterations {
            ip &+= 0x9E37_79B9
            blackHole(
                hasher.selectionHash(
                    distribution: .fiveTuple, protocolNumber: 6, clientIP: ip,
                    clientPort: UInt16(truncatingIfNeeded: i), vip: 0x836B_0A0A, vipPort: 80, clientVSID: 0))
        }
    } setup: {
        ()
    }

    // README.md "Performance": ≤ 1 ms for 65,537 slots and 1,000 DIPs. Allocates by design (control plane).
    for weighted in [false, true] {
        Benchmark(
            "Balancing.MaglevBuild.65537x1000" + (weighted ? ".Weighted" : ""),
            configuration: Configurations.controlPlane
        ) { (benchmark: Benchmark, backends: [MaglevBackend]) in
            for _ in benchmark.scaledIterations {
                blackHole(MaglevTable(backends: backends, size: 65_537, seed: 0x6e76_6c62))
            }
        } setup: {
            maglevBackends(count: 1_000, weighted: weighted)
        }
    }

    Benchmark("Balancing.MaglevLookup", configuration: Configurations.perOperation) {
        (benchmark: Benchmark, fixture: MaglevFixture) in
        let table = fixture.table
        let hashes = fixture.hashes.values
        var cursor = fixture.hashes.cursor
        for _ in benchmark.scaledIterations {
            blackHole(table.backendIndex(forHash: hashes[cursor]) ?? -1)
            cursor = (cursor &+ 1) & (HashStream.count - 1)
        }
        fixture.hashes.cursor = cursor
    } setup: {
        MaglevFixture(
            MaglevTable(backends: maglevBackends(count: 1_000, weighted: false), size: 65_537, seed: 0x6e76_6c62))
    }
}
