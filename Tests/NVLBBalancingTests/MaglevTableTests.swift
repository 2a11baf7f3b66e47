import NVLBBalancing
import Testing

/// The identity nvlb uses for a DIP: VSID in the high half, CA in the low half.
func dipIdentity(vsid: UInt32, ca: UInt32) -> UInt64 { UInt64(vsid) << 32 | UInt64(ca) }

/// `count` DIPs in VSID 5001, CAs from 10.2.0.1 upwards.
func dips(_ count: Int, weight: (Int) -> UInt32 = { _ in 1 }) -> [MaglevBackend] {
    (0..<count).map {
        MaglevBackend(identity: dipIdentity(vsid: 5001, ca: 0x0A02_0001 + UInt32($0)), weight: weight($0))
    }
}

/// Slots owned per backend index.
func shares(_ table: MaglevTable, backendCount: Int) -> [Int] {
    var counts = [Int](repeating: 0, count: backendCount)
    for e in table.entries where e != MaglevTable.noBackend { counts[Int(e)] += 1 }
    return counts
}

/// The identity owning each slot (0 for no backend).
func slotIdentities(_ table: MaglevTable, _ backends: [MaglevBackend]) -> [UInt64] {
    table.entries.map { $0 == MaglevTable.noBackend ? 0 : backends[Int($0)].identity }
}

/// XXH64 of the entries as little-endian `UInt16`s: a digest of a whole table.
func digest(_ table: MaglevTable) -> UInt64 {
    XXH64.hash(table.entries.flatMap { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }, seed: 0)
}

@Suite struct MaglevTableTests {
    static let seed: UInt32 = 0x6E76_6C62
    static let m = 65_537

    @Test func primality() {
        #expect(MaglevTable.isPrime(65_537) && MaglevTable.isPrime(2) && MaglevTable.isPrime(251))
        #expect(!MaglevTable.isPrime(65_536) && !MaglevTable.isPrime(1) && !MaglevTable.isPrime(65_535))
        #expect(!MaglevTable.isPrime(25) && !MaglevTable.isPrime(49))
    }

    @Test func permutationParametersAreInRange() {
        for b in dips(1000) {
            let p = MaglevTable.permutation(identity: b.identity, size: Self.m, seed: Self.seed)
            #expect((0..<Self.m).contains(p.offset) && (1..<Self.m).contains(p.skip))
        }
    }

    @Test func balanceAt100EqualBackends() {
        let table = MaglevTable(backends: dips(100), size: Self.m, seed: Self.seed)
        let counts = shares(table, backendCount: 100)
        #expect(counts.reduce(0, +) == Self.m)
        let mean = Double(Self.m) / 100
        #expect(Double(counts.max()!) / mean <= 1.01)
        #expect(Double(counts.min()!) / mean >= 0.99)
    }

    @Test func weightsAreProportional() {
        let backends = dips(3) { UInt32($0 + 1) }  // 1 : 2 : 3
        let table = MaglevTable(backends: backends, size: Self.m, seed: Self.seed)
        let counts = shares(table, backendCount: 3)
        for i in 0..<3 {
            let expected = Double(Self.m) * Double(i + 1) / 6
            #expect(abs(Double(counts[i]) / expected - 1) <= 0.01, "backend \(i): \(counts[i]) vs \(expected)")
        }
    }

    @Test func weightedBalanceAt100Backends() {
        let backends = dips(100) { UInt32($0 % 10 + 1) }  // weights 1...10
        let total = backends.reduce(0) { $0 + Double($1.weight) }
        let table = MaglevTable(backends: backends, size: Self.m, seed: Self.seed)
        let counts = shares(table, backendCount: 100)
        for (i, b) in backends.enumerated() {
            // Within the documented bound 1 + B·w/Σw slots of the exact share.
            let bound = 1 + 100 * Double(b.weight) / total
            #expect(abs(Double(counts[i]) - Double(Self.m) * Double(b.weight) / total) <= bound)
        }
    }

    @Test func skewedWeightsStillGiveEveryoneItsShare() {
        // One heavy backend and many light ones: every light one still gets ~its share.
        let backends = dips(50) { $0 == 0 ? 1000 : 1 }
        let table = MaglevTable(backends: backends, size: Self.m, seed: Self.seed)
        let counts = shares(table, backendCount: 50)
        let unit = Double(Self.m) / 1049
        // The heavy one absorbs the light ones' rounding (≤ 1 slot each).
        #expect(abs(Double(counts[0]) / (1000 * unit) - 1) <= 0.001)
        for i in 1..<50 { #expect(abs(Double(counts[i]) - unit) <= 1) }
    }

    @Test func weightZeroGetsNothingAndEqualsAbsence() {
        var backends = dips(10)
        backends[3].weight = 0
        let table = MaglevTable(backends: backends, size: 1_009, seed: Self.seed)
        #expect(!table.entries.contains(3))
        // Draining is the same table as removing, in identities.
        var without = backends
        without.remove(at: 3)
        let tableWithout = MaglevTable(backends: without, size: 1_009, seed: Self.seed)
        #expect(slotIdentities(table, backends) == slotIdentities(tableWithout, without))
    }

    @Test func allWeightsZeroOrNoBackendsGiveNoBackend() {
        let drained = MaglevTable(backends: dips(5) { _ in 0 }, size: 251, seed: Self.seed)
        #expect(drained.size == 251)
        #expect(drained.entries.allSatisfy { $0 == MaglevTable.noBackend })
        #expect(drained.backendIndex(forHash: 0x1234_5678_9ABC_DEF0) == nil)
        let empty = MaglevTable(backends: [], size: 251, seed: Self.seed)
        #expect(empty.entries.allSatisfy { $0 == MaglevTable.noBackend })
        #expect(empty.backendIndex(forHash: .max) == nil)
    }

    @Test func singleBackendFillsAll() {
        var backends = dips(4) { _ in 0 }
        backends[2].weight = 7
        let table = MaglevTable(backends: backends, size: 251, seed: Self.seed)
        #expect(table.entries.allSatisfy { $0 == 2 })
        #expect(table.backendIndex(forHash: 0) == 2 && table.backendIndex(forHash: .max) == 2)
    }

    @Test(arguments: [0, 37, 99])
    func removingOneBackendMovesLittleMoreThanItsShare(removed: Int) {
        let n = 100
        let backends = dips(n)
        var fewer = backends
        fewer.remove(at: removed)
        let before = slotIdentities(MaglevTable(backends: backends, size: Self.m, seed: Self.seed), backends)
        let after = slotIdentities(MaglevTable(backends: fewer, size: Self.m, seed: Self.seed), fewer)
        var changed = 0
        var orphaned = 0
        for s in 0..<Self.m where before[s] != after[s] {
            changed += 1
            if before[s] == backends[removed].identity { orphaned += 1 }
        }
        // Every slot of the removed DIP moves; apart from those, only a small Maglev overshoot.
        #expect(orphaned == before.filter { $0 == backends[removed].identity }.count)
        #expect(Double(changed) / Double(Self.m) <= 1.0 / Double(n) + 0.01, "changed \(changed)")
    }

    @Test func addingOneBackendMovesLittleMoreThanItsShare() {
        let backends = dips(101)
        let fewer = Array(backends.dropLast())
        let before = slotIdentities(MaglevTable(backends: fewer, size: Self.m, seed: Self.seed), fewer)
        let after = slotIdentities(MaglevTable(backends: backends, size: Self.m, seed: Self.seed), backends)
        let changed = zip(before, after).filter { $0 != $1 }.count
        #expect(Double(changed) / Double(Self.m) <= 1.0 / 101 + 0.01, "changed \(changed)")
    }

    @Test(arguments: [1, 2, 3])
    func independentOfInputOrder(shuffleSeed: UInt64) {
        let backends = dips(60) { UInt32($0 % 4) }  // includes weight 0
        var rng = SplitMix64(state: shuffleSeed)
        let shuffled = backends.shuffled(using: &rng)
        let a = MaglevTable(backends: backends, size: 6_007, seed: Self.seed)
        let b = MaglevTable(backends: shuffled, size: 6_007, seed: Self.seed)
        #expect(slotIdentities(a, backends) == slotIdentities(b, shuffled))
    }

    @Test func seedChangesTheTable() {
        let backends = dips(10)
        let a = MaglevTable(backends: backends, size: 1_009, seed: Self.seed)
        let b = MaglevTable(backends: backends, size: 1_009, seed: Self.seed &+ 1)
        #expect(a.entries != b.entries)
    }

    /// Golden values from an independent reference written in Python with the reference `xxhash`
    /// package (a priority queue of turns instead of the calendar ring), so a change of the hash,
    /// the permutation, the weighting or the turn order fails here:
    ///
    /// ```python
    /// def maglev(backends, M, s):            # backends: [(identity, weight)]
    ///     act = [i for i in sorted(range(len(backends)), key=lambda i: backends[i][0]) if backends[i][1] > 0]
    ///     if len(act) < 2: return [act[0] if act else None] * M
    ///     maxw = max(backends[i][1] for i in act); heap = []; seq = 0; k = {}; pos = {}; sk = {}
    ///     for i in act:
    ///         b = struct.pack('<Q', backends[i][0])
    ///         pos[i] = xxh64(b, 1 << 32 | s) % M; sk[i] = xxh64(b, 2 << 32 | s) % (M - 1) + 1
    ///         k[i] = 1; heappush(heap, (ceil(maxw / backends[i][1]), seq, i)); seq += 1
    ///     res = [None] * M; placed = 0
    ///     while True:                        # turns by (round, order of scheduling)
    ///         _, _, i = heappop(heap)
    ///         while res[pos[i]] is not None: pos[i] = (pos[i] + sk[i]) % M
    ///         res[pos[i]] = i; pos[i] = (pos[i] + sk[i]) % M; placed += 1
    ///         if placed == M: return res
    ///         k[i] += 1; heappush(heap, (ceil(k[i] * maxw / backends[i][1]), seq, i)); seq += 1
    /// ```
    static let goldenBackends: [MaglevBackend] = [
        MaglevBackend(identity: dipIdentity(vsid: 5001, ca: 0x0A01_0615), weight: 2),  // 10.1.6.21
        MaglevBackend(identity: dipIdentity(vsid: 5001, ca: 0x0A01_0614), weight: 1),  // 10.1.6.20
        MaglevBackend(identity: dipIdentity(vsid: 5002, ca: 0x0A01_0616), weight: 1),  // 10.1.6.22
        MaglevBackend(identity: dipIdentity(vsid: 5001, ca: 0x0A01_0617), weight: 0),  // 10.1.6.23
        MaglevBackend(identity: dipIdentity(vsid: 5001, ca: 0x0A01_0618), weight: 3),  // 10.1.6.24
    ]

    @Test func fixedConfigurationGivesFixedTable() {
        let table = MaglevTable(backends: Self.goldenBackends, size: 251, seed: Self.seed)
        let prefix = slotIdentities(table, Self.goldenBackends).prefix(16)
        #expect(
            Array(prefix) == [
                0x138A_0A01_0616, 0x1389_0A01_0615, 0x1389_0A01_0618, 0x1389_0A01_0618,
                0x138A_0A01_0616, 0x1389_0A01_0618, 0x1389_0A01_0618, 0x1389_0A01_0615,
                0x1389_0A01_0615, 0x1389_0A01_0615, 0x1389_0A01_0618, 0x1389_0A01_0618,
                0x1389_0A01_0615, 0x1389_0A01_0618, 0x1389_0A01_0614, 0x138A_0A01_0616,
            ])
        #expect(digest(table) == 0xB11A_6EE9_FF3B_D862)
        #expect(shares(table, backendCount: 5) == [72, 36, 36, 0, 107])
    }

    @Test func fixedLargeConfigurationMatchesReference() {
        // 100 DIPs over three VSIDs, weights 0–4, listed in a scrambled order.
        var backends: [MaglevBackend] = []
        for i in 0..<100 {
            let vsid = 5001 + UInt32(i % 3)
            let ca: UInt32 = 0x0A02_0000 | UInt32(i / 50) << 8 | UInt32(i % 50 + 1)  // 10.2.(i/50).(i%50+1)
            backends.append(MaglevBackend(identity: dipIdentity(vsid: vsid, ca: ca), weight: UInt32(i * 7 % 5)))
        }
        backends = Array(backends[37...] + backends[..<37])
        let table = MaglevTable(backends: backends, size: Self.m, seed: Self.seed)
        #expect(digest(table) == 0x2C61_8F02_B216_09BC)
    }

    @Test func slotMappingIsMultiplyShift() {
        #expect(MaglevTable.slot(forHash: 0, size: Self.m) == 0)
        #expect(MaglevTable.slot(forHash: .max, size: Self.m) == Self.m - 1)
        #expect(MaglevTable.slot(forHash: 1 << 63, size: Self.m) == Self.m / 2)
        let table = MaglevTable(backends: dips(7), size: 101, seed: Self.seed)
        var rng = SplitMix64(state: 9)
        for _ in 0..<1000 {
            let h = rng.next()
            let slot = MaglevTable.slot(forHash: h, size: 101)
            #expect(slot == Int((h.multipliedFullWidth(by: 101)).high))
            #expect(table.backendIndex(forHash: h) == Int(table.entries[slot]))
        }
    }

    @Test func selectionHashesSpreadOverBackends() {
        let table = MaglevTable(backends: dips(10), size: 1_009, seed: Self.seed)
        let hasher = FlowHasher(seed: Self.seed)
        var counts = [Int](repeating: 0, count: 10)
        for port in UInt16(1024)..<UInt16(21_024) {
            let h = hasher.selectionHash(
                distribution: .fiveTuple, protocolNumber: 6, clientIP: 0xCB00_7107, clientPort: port,
                vip: 0xC633_640A, vipPort: 80, clientVSID: 0)
            counts[table.backendIndex(forHash: h)!] += 1
        }
        #expect(counts.min()! > 1_800 && counts.max()! < 2_200)
    }
}
