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

    public init() {}

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
