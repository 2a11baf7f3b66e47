// Randomness of the traffic generator: its own seeded generators, so that the same
// configuration and options give the same bytes on every machine and every run
// (never `SystemRandomNumberGenerator`, never Swift's per-process `Hasher`).

import Foundation

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): expands a 64-bit seed into the
/// state of `Xoshiro256`, and its finalizer mixes keys into well-spread hashes.
struct SplitMix64 {
    var state: UInt64

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finalizer: a bijective avalanche of `value`.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** (Blackman and Vigna, 2018): the seeded pseudo-random source of the
/// traffic generator and the benchmarks. A plain value: copying it forks an identical stream.
public struct Xoshiro256: RandomNumberGenerator, Sendable {
    var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// A generator whose state is SplitMix64-expanded from `seed` (any seed, 0 included).
    public init(seed: UInt64) {
        var expander = SplitMix64(state: seed)
        s0 = expander.next()
        s1 = expander.next()
        s2 = expander.next()
        s3 = expander.next()
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A value in `0 ..< bound` (`bound` > 0), by the high half of a 128-bit product
    /// (Lemire's method without the rejection step: the bias is below 2⁻³² for the bounds
    /// used here and the sequence stays a pure function of the seed).
    mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(truncatingIfNeeded: UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// A value in `range`.
    mutating func inRange(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// A double in `[0, 1)` with 53 random bits.
    mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `probability`.
    mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    /// A fresh generator for a sub-stream (e.g. one flow), independent of later draws here.
    mutating func fork() -> Xoshiro256 { Xoshiro256(seed: next()) }
}

/// Picks ranks `0 ..< count` with probability proportional to `1 / (rank + 1)^exponent`
/// (Zipf), or uniformly when `exponent` is nil. O(count) to build, O(log count) per draw.
struct PopularitySampler: Sendable {
    /// Cumulative probabilities; empty for the uniform distribution.
    private let cumulative: [Double]
    private let count: Int

    init(count: Int, exponent: Double?) {
        precondition(count > 0)
        self.count = count
        guard let exponent else {
            cumulative = []
            return
        }
        var weights = (1...count).map { 1 / pow(Double($0), exponent) }
        let total = weights.reduce(0, +)
        var running = 0.0
        for index in weights.indices {
            running += weights[index] / total
            weights[index] = running
        }
        weights[count - 1] = 1
        cumulative = weights
    }

    func draw(_ random: inout Xoshiro256) -> Int {
        guard !cumulative.isEmpty else { return random.below(count) }
        let u = random.unit()
        var low = 0
        var high = count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > u { high = middle } else { low = middle + 1 }
        }
        return low
    }
}
