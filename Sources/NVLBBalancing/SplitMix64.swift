/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): a 64-bit counter stepped by the golden ratio and passed through a bijective
/// finalizer. The one implementation in the package: it expands seeds (the traffic
/// generator's xoshiro256**), spreads keys (``mix(_:)``), and drives seeded tests.
///
/// Not for anything secret; deterministic on every platform.
@frozen
public struct SplitMix64: RandomNumberGenerator, Hashable, Sendable {
    /// The counter; the next output is `mix(state + 0x9E3779B97F4A7C15)`.
    public var state: UInt64

    /// A generator starting at `state` (any value, 0 included).
    @inlinable
    public init(state: UInt64) { self.state = state }

    /// A generator starting at `seed`: the same as `init(state: seed)`.
    @inlinable
    public init(seed: UInt64) { self.state = seed }

    /// Steps the counter and returns the mixed value.
    @inlinable @inline(__always)
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// The SplitMix64 finalizer: a bijective avalanche of `value` (every input bit moves about
    /// half the output bits).
    ///
    /// - Complexity: O(1), two multiplications.
    @inlinable @inline(__always)
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
