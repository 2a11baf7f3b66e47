import NVLBBalancing

/// Deterministic jitter (docs/health.md): the first probe of each DIP falls at a point of
/// the first interval drawn from a seeded generator, and each later one an interval
/// ± 10 % after the previous, so probes of many DIPs spread over the interval and never
/// fall into lockstep. The same seed gives the same times, so tests drive them exactly.
public struct ProbeSchedule: Sendable {
    /// SplitMix64: small, fast, good enough to spread times.
    private var generator: SplitMix64

    /// A schedule for the DIP with `identity` under `seed`.
    public init(seed: UInt64, identity: UInt64) {
        generator = SplitMix64(state: XXH64.hash(word: identity, seed: seed))
    }

    private mutating func next() -> UInt64 { generator.next() }

    /// A uniform value in `0 ..< bound` (`bound` > 0).
    private mutating func below(_ bound: UInt64) -> UInt64 {
        next().multipliedFullWidth(by: bound).high
    }

    /// Offset of the first probe after the start: in `0 ..< interval`.
    public mutating func firstOffset(interval: UInt64) -> UInt64 {
        below(max(interval, 1))
    }

    /// Delay from one probe to the next: `interval` ± `interval / 10`.
    public mutating func nextDelay(interval: UInt64) -> UInt64 {
        let spread = interval / 10
        return interval - spread + below(2 * spread + 1)
    }

    /// A sequence number for a SYN.
    public mutating func initialSequence() -> UInt32 {
        UInt32(truncatingIfNeeded: next())
    }
}
