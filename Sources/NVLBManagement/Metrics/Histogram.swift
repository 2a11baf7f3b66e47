import Synchronization

/// A Prometheus histogram observed by the control plane (publication times): cumulative
/// bucket counts, sum and count. Never touched by a worker.
public final class Histogram: Sendable {
    /// Upper bounds of the buckets, ascending (`+Inf` is implicit).
    public let bounds: [Double]
    private let state: Mutex<Snapshot>

    /// Bucket counts (not cumulative), sum and count at one moment.
    public struct Snapshot: Sendable, Equatable {
        /// Observations per bucket; the last is `+Inf`.
        public var buckets: [UInt64]
        /// Sum of the observed values.
        public var sum: Double
        /// Number of observations.
        public var count: UInt64
    }

    /// Creates an empty histogram.
    public init(bounds: [Double]) {
        self.bounds = bounds
        state = Mutex(Snapshot(buckets: Array(repeating: 0, count: bounds.count + 1), sum: 0, count: 0))
    }

    /// Records one value.
    public func observe(_ value: Double) {
        let index = bounds.firstIndex { value <= $0 } ?? bounds.count
        state.withLock {
            $0.buckets[index] += 1
            $0.sum += value
            $0.count += 1
        }
    }

    /// The current values with their bounds.
    public func snapshot() -> (bounds: [Double], values: Snapshot) {
        (bounds, state.withLock { $0 })
    }
}
