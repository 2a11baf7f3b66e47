// Weighted Maglev consistent hashing (Eisenbud et al., "Maglev: A Fast and Reliable Software
// Network Load Balancer", NSDI 2016, §3.4), with weights as interleaved turns: in round r a
// backend of weight w has taken floor(r·w / maxWeight) turns in total (Katran's MaglevHashV2
// accumulator). With equal weights every backend takes one turn per round in identity order,
// which is exactly the paper's Algorithm 1.

/// One backend as Maglev sees it: a stable identity and a weight.
@frozen
public struct MaglevBackend: Sendable, Hashable {
    /// Stable 64-bit identity; the permutation of the backend and the order of turns depend on
    /// it alone. nvlb uses `UInt64(vsid) << 32 | UInt64(ca.rawValue)`.
    public var identity: UInt64
    /// Relative share of the table, 0...``MaglevTable/maximumWeight``; 0 gets no slots.
    public var weight: UInt32

    /// Creates a backend description.
    @inlinable
    public init(identity: UInt64, weight: UInt32 = 1) {
        self.identity = identity
        self.weight = weight
    }
}

/// A Maglev lookup table: `size` slots (a prime), each the index of a backend in the array the
/// table was built from, or ``noBackend``.
///
/// The table is a pure function of the *set* of (identity, weight) pairs, the size and the seed:
/// the input order does not matter (backends are sorted by identity before the build), but the
/// entries are indices into the caller's array as given. A backend of weight `w` owns its exact
/// share `size · w / Σw` to within `1 + B · w / Σw` slots (B backends of nonzero weight: each
/// backend is at most one turn off its share when the table fills); weight 0 owns none and the
/// table is the one built without that backend, so draining a DIP re-homes only its own flows,
/// as does removing it. Each backend's permutation is `offset + j · skip (mod size)`
/// with `offset = h1 % size`, `skip = h2 % (size − 1) + 1`, where `h1`, `h2` are XXH64 of the
/// identity's 8 little-endian bytes seeded with the Maglev offset/skip domains of
/// ``FlowHasher/derivedSeed(_:domain:)``.
///
/// Lookup maps a 64-bit flow hash to a slot with ``slot(forHash:size:)``: the high 64 bits of
/// the 128-bit product `hash · size` (Lemire's multiply-shift), uniform and free of division.
public struct MaglevTable: Sendable {
    /// Entry of a slot that has no backend (every backend has weight 0, or there are none).
    public static let noBackend: UInt16 = .max
    /// Largest number of backends a table can index (entries are `UInt16`, `.max` is reserved).
    public static let maximumBackendCount = 65_535
    /// Largest weight accepted (the configuration allows 0–1000).
    public static let maximumWeight: UInt32 = 65_535

    /// The slots: each an index into the backend array given to ``init(backends:size:seed:)``,
    /// or ``noBackend``. Read-only, so that the policy can flatten several tables into one buffer
    /// and look slots up with ``slot(forHash:size:)``.
    public let entries: [UInt16]

    /// Number of slots (the prime `M`).
    @inlinable
    public var size: Int { entries.count }

    /// The slot a 64-bit flow hash maps to in a table of `size` slots:
    /// `⌊hash · size / 2⁶⁴⌋`, one widening multiply.
    ///
    /// - Precondition: `size > 0` (not checked).
    /// - Complexity: O(1).
    @inlinable @inline(__always)
    public static func slot(forHash hash: UInt64, size: Int) -> Int {
        Int(truncatingIfNeeded: hash.multipliedFullWidth(by: UInt64(truncatingIfNeeded: size)).high)
    }

    /// The index (into the builder's backend array) of the backend owning `hash`, or `nil` if the
    /// table has no backend.
    ///
    /// - Complexity: O(1), one multiply and one load.
    @inlinable @inline(__always)
    public func backendIndex(forHash hash: UInt64) -> Int? {
        let entry = entries[Self.slot(forHash: hash, size: entries.count)]
        return entry == Self.noBackend ? nil : Int(entry)
    }

    /// The permutation parameters of a backend: `offset = h1 % size`, `skip = h2 % (size − 1) + 1`.
    ///
    /// - Complexity: O(1).
    @inlinable
    public static func permutation(identity: UInt64, size: Int, seed: UInt32) -> (offset: Int, skip: Int) {
        let m = UInt64(size)
        let h1 = XXH64.hash(word: identity, seed: FlowHasher.derivedSeed(seed, domain: FlowHasher.maglevOffsetDomain))
        let h2 = XXH64.hash(word: identity, seed: FlowHasher.derivedSeed(seed, domain: FlowHasher.maglevSkipDomain))
        return (Int(h1 % m), Int(h2 % (m - 1) + 1))
    }

    /// Whether `n` is prime (trial division).
    ///
    /// - Complexity: O(√n).
    public static func isPrime(_ n: Int) -> Bool {
        if n < 4 { return n >= 2 }
        if n % 2 == 0 || n % 3 == 0 { return false }
        var d = 5
        while d * d <= n {
            if n % d == 0 || n % (d + 2) == 0 { return false }
            d += 6
        }
        return true
    }

    /// Builds the table.
    ///
    /// - Parameters:
    ///   - backends: the backends; their indices are what ``entries`` hold. Identities must be
    ///     distinct; order is irrelevant to the result.
    ///   - size: number of slots `M`, a prime in 2...`UInt32.max` (the configuration requires ≥ 100 × backends).
    ///   - seed: the configured hash seed (`balancer.hash_seed`).
    /// - Precondition: `size` prime; `backends.count` ≤ ``maximumBackendCount``; identities
    ///   distinct; weights ≤ ``maximumWeight``. The caller (policy validation) checks these.
    /// - Complexity: O(B log B + M log M) expected time for B backends with nonzero weight
    ///   (the M log M term is Maglev's probing), plus O(M) rounds of turn scheduling;
    ///   O(M + B + maxWeight) memory.
    public init(backends: [MaglevBackend], size: Int, seed: UInt32) {
        precondition(size >= 2 && size <= Int(UInt32.max) && Self.isPrime(size), "Maglev table size must be prime")
        precondition(backends.count <= Self.maximumBackendCount, "too many backends for a Maglev table")

        // Sort by identity so the result does not depend on input order.
        var order = [(identity: UInt64, index: UInt16)]()
        order.reserveCapacity(backends.count)
        for (index, backend) in backends.enumerated() {
            precondition(backend.weight <= Self.maximumWeight, "Maglev weight out of range")
            order.append((backend.identity, UInt16(index)))
        }
        order.sort { $0.identity < $1.identity }
        var active = [UInt16]()
        active.reserveCapacity(order.count)
        for i in order.indices {
            precondition(i == 0 || order[i - 1].identity != order[i].identity, "duplicate Maglev backend identity")
            if backends[Int(order[i].index)].weight > 0 { active.append(order[i].index) }
        }

        switch active.count {
        case 0:
            entries = [UInt16](repeating: Self.noBackend, count: size)
        case 1:
            entries = [UInt16](repeating: active[0], count: size)
        default:
            entries = Self.populate(backends: backends, active: active, size: size, seed: seed)
        }
    }

    /// Number of empty slots at which the build switches from probing to the endgame search
    /// (see `populate`); 128 measured fastest for M = 65,537 with 100–1,000 backends.
    static let endgameSlots = 128

    /// Maglev population (paper Algorithm 1) with weighted turns.
    ///
    /// Turns come from ``TurnOrder``. A turn probes the backend's permutation from where it
    /// stopped last time to the first empty slot; occupied slots are tracked in a bitmap (M/8
    /// bytes, L1-resident for M = 65,537) rather than in the entries.
    ///
    /// Endgame: Maglev's probing costs ~M·H(M) probes, and most of them are spent on the last
    /// few slots (filling the last 1% takes ~60% of all probes). Once only ``endgameSlots``
    /// slots are empty, a backend's next slot is found directly instead: the empty slot `s`
    /// with the smallest permutation index `(s − offset) · skip⁻¹ mod M`. Every slot before the
    /// backend's current position in its permutation is occupied, so that is exactly the slot
    /// probing would reach; the table is identical, the cost O(endgameSlots²) in total.
    private static func populate(backends: [MaglevBackend], active: [UInt16], size: Int, seed: UInt32) -> [UInt16] {
        let count = active.count
        var order = TurnOrder(weights: active.map { backends[Int($0)].weight })
        let offsets = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
        defer { offsets.deallocate() }
        let skips = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
        defer { skips.deallocate() }
        // Next permutation position to try, per backend.
        let positions = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
        defer { positions.deallocate() }
        for j in 0..<count {
            let p = permutation(identity: backends[Int(active[j])].identity, size: size, seed: seed)
            offsets[j] = UInt32(p.offset)
            skips[j] = UInt32(p.skip)
            positions[j] = UInt32(p.offset)
        }
        let wordCount = (size + 63) / 64
        let filled = UnsafeMutablePointer<UInt64>.allocate(capacity: wordCount)
        defer { filled.deallocate() }
        filled.initialize(repeating: 0, count: wordCount)

        return [UInt16](unsafeUninitializedCapacity: size) { table, initialized in
            let table = table.baseAddress!
            let probedTurns = size - min(size, endgameSlots)
            for _ in 0..<probedTurns {
                let j = order.next()
                // Positions as Int, stepping by `skip − M` and adding M back when negative:
                // a select, not a branch (a wrap branch mispredicts ~skip/M of the time).
                let back = Int(skips[j]) &- size
                var p = Int(positions[j])
                while filled[p &>> 6] & (1 &<< UInt64(p & 63)) != 0 {
                    p &+= back
                    p = p < 0 ? p &+ size : p
                }
                filled[p &>> 6] |= 1 &<< UInt64(p & 63)
                table[p] = active[j]
                p &+= back
                p = p < 0 ? p &+ size : p
                positions[j] = UInt32(truncatingIfNeeded: p)
            }

            // Endgame: the remaining empty slots, and per backend skip⁻¹ mod M when first needed
            // (0 until then; an inverse is never 0).
            var empty = [UInt32]()
            empty.reserveCapacity(size - probedTurns)
            for w in 0..<wordCount {
                var free = ~filled[w]
                while free != 0 {
                    let slot = w &* 64 &+ free.trailingZeroBitCount
                    if slot >= size { break }
                    empty.append(UInt32(slot))
                    free &= free &- 1
                }
            }
            let inverses = UnsafeMutablePointer<UInt32>.allocate(capacity: count)
            defer { inverses.deallocate() }
            inverses.initialize(repeating: 0, count: count)
            let m = UInt64(size)
            while !empty.isEmpty {
                let j = order.next()
                if inverses[j] == 0 { inverses[j] = modularInverse(skips[j], modulo: UInt32(size)) }
                let inverse = UInt64(inverses[j])
                let offset = UInt64(offsets[j])
                var best = UInt64.max
                var bestK = 0
                for k in empty.indices {
                    let s = UInt64(empty[k])
                    let distance = s >= offset ? s &- offset : s &+ (m &- offset)
                    let step = distance &* inverse % m  // < M², no overflow for M < 2³²
                    if step < best {
                        best = step
                        bestK = k
                    }
                }
                table[Int(empty[bestK])] = active[j]
                empty.swapAt(bestK, empty.count - 1)
                empty.removeLast()
            }
            initialized = size
        }
    }

    /// The sequence of backend turns of the weighted Maglev population.
    ///
    /// Backend `j` (in identity order) with weight `w_j` takes its k-th turn in round
    /// `⌈k · maxWeight / w_j⌉`. Equal weights reduce to round-robin in identity order (the
    /// paper's algorithm) and take a fast path. Otherwise turns are scheduled on a calendar ring
    /// of `maxWeight + 1` buckets (weights divided by their GCD first); within a round, turns come
    /// in the order they were scheduled (each bucket is a FIFO). Rounds without turns cost one
    /// bucket check, so producing T turns costs O(T + rounds) however skewed the weights are.
    private struct TurnOrder: ~Copyable {
        private struct Schedule {
            /// Weight after division by the GCD of all weights.
            var weight: UInt32
            /// `maxWeight / weight` and `maxWeight % weight`: the gap between turns is the quotient
            /// or one more, decided by the Bresenham-style `error` accumulator.
            var quotient: UInt32
            var remainder: UInt32
            var error: UInt32
            /// Next backend in the same calendar bucket, or −1.
            var link: Int32
        }

        private let count: Int
        private let ringSize: Int
        private let schedules: UnsafeMutablePointer<Schedule>
        private let head: UnsafeMutablePointer<Int32>
        private let tail: UnsafeMutablePointer<Int32>
        private var bucket = 0
        /// Next backend of the bucket being drained, or −1; in the equal-weight case the last
        /// backend returned.
        private var current: Int32 = -1

        init(weights: [UInt32]) {
            count = weights.count
            var divisor: UInt32 = 0
            var maxWeight: UInt32 = 0
            for w in weights {
                divisor = MaglevTable.gcd(divisor, w)
                maxWeight = max(maxWeight, w)
            }
            maxWeight /= divisor
            ringSize = maxWeight == 1 ? 0 : Int(maxWeight) + 1
            schedules = .allocate(capacity: ringSize == 0 ? 0 : count)
            head = .allocate(capacity: ringSize)
            tail = .allocate(capacity: ringSize)
            head.initialize(repeating: -1, count: ringSize)
            tail.initialize(repeating: -1, count: ringSize)
            if ringSize == 0 { return }
            for j in 0..<count {
                let w = weights[j] / divisor
                // error = w − 1 makes the first turn fall in round ⌈maxWeight / w⌉.
                (schedules + j).initialize(
                    to: Schedule(
                        weight: w, quotient: maxWeight / w, remainder: maxWeight % w, error: w - 1, link: -1))
                schedule(j, after: 0)
            }
        }

        deinit {
            schedules.deallocate()
            head.deallocate()
            tail.deallocate()
        }

        /// Appends backend `j` to the bucket of its next turn, counted from round `bucket`.
        @inline(__always)
        private func schedule(_ j: Int, after bucket: Int) {
            var gap = schedules[j].quotient
            schedules[j].error &+= schedules[j].remainder
            if schedules[j].error >= schedules[j].weight {
                schedules[j].error &-= schedules[j].weight
                gap &+= 1
            }
            var b = bucket &+ Int(gap)
            if b >= ringSize { b &-= ringSize }
            schedules[j].link = -1
            let t = tail[b]
            if t < 0 { head[b] = Int32(j) } else { schedules[Int(t)].link = Int32(j) }
            tail[b] = Int32(j)
        }

        /// The backend (index in identity order) that takes the next turn.
        ///
        /// - Complexity: amortized O(1) per turn plus O(1) per empty round.
        @inline(__always)
        mutating func next() -> Int {
            if ringSize == 0 {
                current &+= 1
                if current == count { current = 0 }
                return Int(current)
            }
            while current < 0 {
                bucket &+= 1
                if bucket == ringSize { bucket = 0 }
                current = head[bucket]
                head[bucket] = -1
                tail[bucket] = -1
            }
            let j = Int(current)
            current = schedules[j].link
            schedule(j, after: bucket)
            return j
        }
    }

    /// `a⁻¹ mod m` for `0 < a < m`, `m` prime (extended Euclid).
    private static func modularInverse(_ a: UInt32, modulo m: UInt32) -> UInt32 {
        var (r0, r1) = (Int64(m), Int64(a))
        var (t0, t1): (Int64, Int64) = (0, 1)
        while r1 != 0 {
            let q = r0 / r1
            (r0, r1) = (r1, r0 - q * r1)
            (t0, t1) = (t1, t0 - q * t1)
        }
        return UInt32(t0 < 0 ? t0 + Int64(m) : t0)
    }

    fileprivate static func gcd(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
