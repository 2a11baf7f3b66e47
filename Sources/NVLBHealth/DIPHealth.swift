import NVLBPolicy

/// The health of one DIP under one probe: rise/fall counting and its counters
/// (docs/health.md). Starts up, so that a restart does not empty every pool: a DIP goes
/// down only after `fall` consecutive failures, and up again after `rise` successes.
public struct DIPHealth: Sendable, Equatable {
    public enum State: String, Sendable, Equatable {
        case up
        case down
    }

    public private(set) var state = State.up
    /// Probes sent (attempts started, including those that found no next hop).
    public private(set) var sent: UInt64 = 0
    /// Probes that failed.
    public private(set) var failed: UInt64 = 0
    /// The most recent result.
    public private(set) var lastResult: ProbeResult?
    var successes: UInt32 = 0
    var failures: UInt32 = 0
    /// How long completed probes took, per bucket of ``durationBounds`` (the last: longer).
    public private(set) var durationBuckets = [UInt64](repeating: 0, count: DIPHealth.durationBounds.count + 1)
    /// Sum of the durations of completed probes, in seconds.
    public private(set) var durationSum: Double = 0

    /// Upper bounds (seconds) of the probe-duration buckets.
    public static let durationBounds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

    public init() {}

    /// Records how long a completed probe took (from its SYN to its result), in seconds.
    public mutating func observeDuration(_ seconds: Double) {
        durationBuckets[Self.durationBounds.firstIndex { seconds <= $0 } ?? Self.durationBounds.count] &+= 1
        durationSum += seconds
    }

    /// Counts a probe as sent.
    public mutating func probeSent() { sent &+= 1 }

    /// Records `result`; returns the new state when it changed. `unreachable` (nvlb knows
    /// no next hop toward the host, which says nothing about the DIP) changes no count.
    public mutating func record(_ result: ProbeResult, rise: UInt32, fall: UInt32) -> State? {
        lastResult = result
        if result == .unreachable { return nil }
        if result.isSuccess {
            failures = 0
            successes &+= 1
            if state == .down && successes >= rise {
                state = .up
                return .up
            }
        } else {
            failed &+= 1
            successes = 0
            failures &+= 1
            if state == .up && failures >= fall {
                state = .down
                return .down
            }
        }
        return nil
    }
}

/// A change of a DIP's state, with the result that caused it.
public struct HealthTransition: Sendable, Equatable, CustomStringConvertible {
    public var target: HealthState.Target
    public var from: DIPHealth.State
    public var to: DIPHealth.State
    public var lastResult: ProbeResult
    /// Prober clock (nanoseconds) of the change.
    public var time: UInt64

    public init(
        target: HealthState.Target, from: DIPHealth.State, to: DIPHealth.State, lastResult: ProbeResult, time: UInt64
    ) {
        self.target = target
        self.from = from
        self.to = to
        self.lastResult = lastResult
        self.time = time
    }

    /// The log line: `DIP 5001/10.1.6.21 (load balancer blue-web, probe web): up → down, last result: timeout`.
    public var description: String {
        "DIP \(target.vsid)/\(target.ca) (load balancer \(target.loadBalancer), probe \(target.probe)):"
            + " \(from.rawValue) → \(to.rawValue), last result: \(lastResult)"
    }
}
