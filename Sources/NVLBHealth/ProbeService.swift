import Foundation
import Logging
import NVLBDataplane
import NVLBPolicy
import NVLBWire
import Synchronization

/// `CLOCK_MONOTONIC` in nanoseconds.
public struct MonotonicClock: ProbeClock, Sendable {
    public init() {}
    public var nanoseconds: UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}

/// The live I/O of the prober: frames out through `send` (the underlay's transmit
/// path), replies in from every worker's `ProbeReplyQueue`, taken in turn.
public struct LiveProbeIO: ProbeIO {
    let queues: [ProbeReplyQueue]
    let transmit: ([UInt8]) -> Void
    let neighbors: LiveProbeNeighbors?
    var next = 0

    /// Replies from `queues`, frames out by `transmit`, next hops without a static one
    /// from `neighbors` (ARP) when given.
    public init(
        queues: [ProbeReplyQueue], transmit: @escaping ([UInt8]) -> Void, neighbors: LiveProbeNeighbors? = nil
    ) {
        self.queues = queues
        self.transmit = transmit
        self.neighbors = neighbors
    }

    public mutating func nextHop(for pa: IPv4Address) -> MACAddress? { neighbors?.nextHop(for: pa) }

    public mutating func send(_ frame: [UInt8]) { transmit(frame) }

    public mutating func receive() -> [UInt8]? {
        for _ in 0..<queues.count {
            let queue = queues[next]
            next = next + 1 == queues.count ? 0 : next + 1
            if let frame = queue.dequeue() { return frame }
        }
        return nil
    }
}

/// The prober on its own thread (never a worker, docs/health.md): steps the `Prober`
/// when a probe is due, a deadline passes, or at least every `pollInterval` for replies;
/// hands every health change to `publish` (which republishes the policy).
public final class ProbeService: @unchecked Sendable {
    /// Longest a reply waits in a worker's queue before the prober reads it.
    public static let pollInterval: UInt64 = 5_000_000
    /// Longest age of `statuses`, in nanoseconds.
    public static let statusInterval: UInt64 = 250_000_000

    private let prober: Prober<MonotonicClock, LiveProbeIO>
    private let publish: (HealthState) -> Void
    private let stopped = Atomic<Bool>(false)
    private let pendingTargets = Mutex<[ProbeTarget]?>(nil)
    private let latest = Mutex<[(target: ProbeTarget, health: DIPHealth)]>([])
    private var thread: Thread?
    private let done = DispatchSemaphore(value: 0)

    /// A service probing `targets`; `publish` runs on the prober thread.
    public init(
        targets: [ProbeTarget], io: LiveProbeIO, logger: Logger, publish: @escaping (HealthState) -> Void
    ) {
        prober = Prober(targets: targets, clock: MonotonicClock(), io: io, logger: logger)
        self.publish = publish
        latest.withLock { $0 = prober.statuses }
    }

    /// Starts the prober thread.
    public func start() {
        let thread = Thread { [self] in
            loop()
            done.signal()
        }
        thread.name = "nvlb-prober"
        self.thread = thread
        thread.start()
    }

    /// Stops the thread and waits for it.
    public func stop() {
        guard thread != nil else { return }
        stopped.store(true, ordering: .releasing)
        done.wait()
        thread = nil
    }

    /// New targets after a reload, applied by the prober thread at its next step.
    public func update(targets: [ProbeTarget]) {
        pendingTargets.withLock { $0 = targets }
    }

    /// Each DIP's health and counters (probes sent, failed, state), at most `statusInterval` old.
    public var statuses: [(target: ProbeTarget, health: DIPHealth)] { latest.withLock { $0 } }

    private func loop() {
        let clock = MonotonicClock()
        var lastState = prober.healthState
        var lastStatuses: UInt64 = 0
        while !stopped.load(ordering: .acquiring) {
            var changed = false
            if let targets = pendingTargets.withLock({ value -> [ProbeTarget]? in
                defer { value = nil }
                return value
            }) {
                prober.update(targets: targets)
                changed = true
            }
            changed = !prober.step().isEmpty || changed
            // The health state is compared (and the counters copied) only when something
            // changed or every `statusInterval`: a step every few milliseconds stays cheap.
            if changed {
                let state = prober.healthState
                if state != lastState {
                    lastState = state
                    publish(state)
                }
            }
            let now = clock.nanoseconds
            if changed || now &- lastStatuses >= Self.statusInterval {
                lastStatuses = now
                latest.withLock { $0 = prober.statuses }
            }
            let wake = min(prober.nextEvent, now &+ Self.pollInterval)
            if wake > now { usleep(useconds_t(min((wake - now) / 1000, 1_000_000))) }
        }
    }
}
