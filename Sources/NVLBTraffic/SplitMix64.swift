// Randomness of the traffic generator: its own seeded generators, so that the same
// configuration and options give the same bytes on every machine and every run
// (never `SystemRandomNumberGenerator`, never Swift's per-process `Hasher`).

import Foundation

/// SplitMix64 (Steele, Lea and Flood, OOPSLA 2014): expands a 64-bit seed into the
/// state of `Xoshiro256`, its finalizer mixes keys into well-spread hashes, and tests use it
/// as a tiny deterministic generator for their inputs.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    /// The generator's whole state: the next output is `mix(state + golden gamma)`.
    public var state: UInt64

    /// A generator starting at `state`.
    public init(state: UInt64) { self.state = state }

    /// A generator seeded with `seed` (the same as `init(state: seed)`).
    public init(seed: UInt64) { state = seed }

    /// The next 64 pseudo-random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finalizer: a bijective avalanche of `value`.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
