// Randomness of the traffic generator: its own seeded generators, so that the same
// configuration and options give the same bytes on every machine and every run
// (never `SystemRandomNumberGenerator`, never Swift's per-process `Hasher`).

import NVLBBalancing

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

    /// The next 64 pseudo-random bits.
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
    public mutating func below(_ bound: Int) -> Int {
        precondition(bound > 0)
        return Int(truncatingIfNeeded: UInt64(bound).multipliedFullWidth(by: next()).high)
    }

    /// A value in `range`.
    public mutating func inRange(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    /// A double in `[0, 1)` with 53 random bits.
    public mutating func unit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// True with probability `probability`.
    public mutating func chance(_ probability: Double) -> Bool { unit() < probability }

    /// A fresh generator for a sub-stream (e.g. one flow), independent of later draws here.
    public mutating func fork() -> Xoshiro256 { Xoshiro256(seed: next()) }
}
