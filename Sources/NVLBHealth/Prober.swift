import Logging
import NVLBBalancing
import NVLBPolicy
import NVLBWire

/// The prober's clock: monotonic nanoseconds. Tests pass a fake one.
public protocol ProbeClock {
    var nanoseconds: UInt64 { get }
}

/// Where the prober's frames go and replies come from: in `nvlb run` the underlay's live
/// transmit path and the workers' `ProbeReplyQueue`s; in tests a script.
public protocol ProbeIO {
    /// Sends one frame on the underlay.
    mutating func send(_ frame: [UInt8])
    /// The next probe reply frame received, or nil when none is waiting.
    mutating func receive() -> [UInt8]?
    /// The next hop toward a host PA that has no static one, or nil (unknown).
    mutating func nextHop(for pa: IPv4Address) -> MACAddress?
}

extension ProbeIO {
    /// No resolution: only static next hops are used.
    public mutating func nextHop(for pa: IPv4Address) -> MACAddress? { nil }
}

/// Probes every DIP of its targets (docs/health.md): schedules probes with jitter, runs
/// one `TCPProbe` per attempt, matches replies by the local port, applies timeouts and
/// rise/fall, logs and returns every state change.
///
/// Single-threaded: the owner calls `step()` on its own thread (never a worker), e.g.
/// whenever `nextEvent` passes or replies may be waiting.
public final class Prober<Clock: ProbeClock, IO: ProbeIO> {
    struct Attempt {
        var probe: TCPProbe
        var localPort: UInt16
        var deadline: UInt64
        /// Prober clock when the SYN left.
        var started: UInt64
    }

    struct Entry {
        var target: ProbeTarget
        var health = DIPHealth()
        var schedule: ProbeSchedule
        var nextDue: UInt64
        var attempt: Attempt?
        /// Consecutive probes without a next hop (logged at the third: ARP may need a moment).
        var unreachable = 0
    }

    /// Local ports of probe connections (from `probe_source`): the Linux ephemeral range.
    public static var localPorts: ClosedRange<UInt16> { 32768...60999 }

    let clock: Clock
    /// The I/O (public so tests and the owner can reach their script or queues).
    public var io: IO
    let seed: UInt64
    let logger: Logger
    var entries: [Entry] = []
    var byPort: [UInt16: Int] = [:]
    var nextPort = Prober.localPorts.lowerBound
    /// Replies that matched no probe in flight (late, or not for a probe).
    public private(set) var unmatchedReplies: UInt64 = 0

    /// A prober of `targets` whose first probes fall within one interval from now.
    public init(targets: [ProbeTarget], clock: Clock, io: IO, seed: UInt64 = 0x6e76_6c62, logger: Logger) {
        self.clock = clock
        self.io = io
        self.seed = seed
        self.logger = logger
        update(targets: targets)
    }

    /// Replaces the targets (after a reload): a target that stays (same load balancer,
    /// probe and DIP) keeps its state and schedule; a new one starts up.
    public func update(targets: [ProbeTarget]) {
        let now = clock.nanoseconds
        var old: [HealthState.Target: Entry] = [:]
        for entry in entries { old[entry.target.key] = entry }
        byPort.removeAll()
        entries = targets.map { target in
            if var kept = old[target.key] {
                let changed = kept.target != target
                kept.target = target
                // A probe whose parameters changed starts over (its reply would not match).
                if changed { kept.attempt = nil }
                return kept
            }
            var schedule = ProbeSchedule(seed: seed, identity: Self.identity(target.key))
            let due = now &+ schedule.firstOffset(interval: target.interval)
            return Entry(target: target, schedule: schedule, nextDue: due)
        }
        for (index, entry) in entries.enumerated() {
            if let attempt = entry.attempt { byPort[attempt.localPort] = index }
        }
    }

    /// A stable 64-bit identity of a target (never Swift's per-process `Hasher`).
    static func identity(_ key: HealthState.Target) -> UInt64 {
        let names = XXH64.hash(Array("\(key.loadBalancer)/\(key.probe)".utf8))
        return XXH64.hash(word0: names, word1: UInt64(key.vsid) << 32 | UInt64(key.ca.rawValue), seed: 0)
    }

    /// The health of every target with its counters, in target order.
    public var statuses: [(target: ProbeTarget, health: DIPHealth)] {
        entries.map { ($0.target, $0.health) }
    }

    /// The DIPs that are down, for the policy compiler.
    public var healthState: HealthState {
        HealthState(down: Set(entries.filter { $0.health.state == .down }.map(\.target.key)))
    }

    /// When `step()` has work next (a probe due or a deadline), in clock nanoseconds.
    public var nextEvent: UInt64 {
        entries.reduce(UInt64.max) { earliest, entry in
            min(earliest, entry.attempt?.deadline ?? entry.nextDue)
        }
    }

    /// Handles every waiting reply, expires attempts past their deadline and starts the
    /// probes that are due. Returns the state changes, each also logged.
    @discardableResult
    public func step() -> [HealthTransition] {
        let now = clock.nanoseconds
        var transitions: [HealthTransition] = []
        while let frame = io.receive() { receive(frame, now: now, into: &transitions) }
        for index in entries.indices {
            if var attempt = entries[index].attempt, attempt.deadline <= now {
                send(attempt.probe.timeOut(), index: index, port: attempt.localPort)
                entries[index].attempt = attempt
                complete(index, now: now, into: &transitions)
            }
        }
        for index in entries.indices where entries[index].attempt == nil && entries[index].nextDue <= now {
            let interval = entries[index].target.interval
            entries[index].nextDue &+= entries[index].schedule.nextDelay(interval: interval)
            // Behind schedule (a stalled thread): resume from now rather than burst.
            if entries[index].nextDue <= now { entries[index].nextDue = now &+ interval }
            start(index, now: now, into: &transitions)
        }
        return transitions
    }

    private func start(_ index: Int, now: UInt64, into transitions: inout [HealthTransition]) {
        let target = entries[index].target
        let kind: TCPProbe.Kind
        switch target.kind {
        case .tcp: kind = .tcp
        case .http: kind = .http(request: TCPProbe.httpRequest(path: target.path, host: target.addressing.dip))
        }
        guard let port = allocatePort() else { return }
        var probe = TCPProbe(kind: kind, initialSequence: entries[index].schedule.initialSequence())
        let syn = probe.start()
        entries[index].health.probeSent()
        entries[index].attempt = Attempt(probe: probe, localPort: port, deadline: now &+ target.timeout, started: now)
        byPort[port] = index
        send([syn], index: index, port: port)
        if entries[index].attempt?.probe.isFinished == true { complete(index, now: now, into: &transitions) }
    }

    /// A free local port, rotating through the range so a late reply does not hit a newer attempt.
    private func allocatePort() -> UInt16? {
        let range = Self.localPorts
        for _ in 0..<range.count {
            let port = nextPort
            nextPort = port == range.upperBound ? range.lowerBound : port + 1
            if byPort[port] == nil { return port }
        }
        return nil
    }

    private func send(_ segments: [ProbeSegment], index: Int, port: UInt16) {
        let target = entries[index].target
        let nextHop =
            target.addressing.nextHopMAC ?? (segments.isEmpty ? nil : io.nextHop(for: target.addressing.hostPA))
        for segment in segments {
            if let frame = ProbeFrame.build(segment, to: target, localPort: port, nextHop: nextHop) {
                io.send(frame)
            } else {
                entries[index].attempt?.probe.fail(.unreachable)
            }
        }
    }

    private func receive(_ frame: [UInt8], now: UInt64, into transitions: inout [HealthTransition]) {
        guard let reply = ProbeFrame.parse(frame), let index = byPort[reply.destinationPort],
            var attempt = entries[index].attempt
        else {
            unmatchedReplies &+= 1
            return
        }
        let target = entries[index].target
        guard reply.vsid == target.addressing.vsid, reply.source == target.addressing.dip,
            reply.sourcePort == target.port, reply.destination == target.addressing.probeSource
        else {
            unmatchedReplies &+= 1
            return
        }
        let answers = attempt.probe.receive(reply.segment)
        entries[index].attempt = attempt
        send(answers, index: index, port: attempt.localPort)
        if entries[index].attempt?.probe.isFinished == true { complete(index, now: now, into: &transitions) }
    }

    private func complete(_ index: Int, now: UInt64, into transitions: inout [HealthTransition]) {
        guard let attempt = entries[index].attempt, let result = attempt.probe.result else { return }
        entries[index].attempt = nil
        byPort[attempt.localPort] = nil
        let target = entries[index].target
        let before = entries[index].health.state
        if result != .unreachable {
            entries[index].health.observeDuration(Double(now &- attempt.started) / 1e9)
        }
        entries[index].unreachable = result == .unreachable ? entries[index].unreachable + 1 : 0
        if entries[index].unreachable == 3 {
            let line =
                "DIP \(target.key.vsid)/\(target.key.ca) (load balancer \(target.key.loadBalancer), probe"
                + " \(target.key.probe)): not probed, no next hop toward host \(target.addressing.hostPA)"
                + " (no ARP answer; configure underlay.neighbors or underlay.gateway_mac)"
            logger.warning("\(line)")
        }
        guard let after = entries[index].health.record(result, rise: target.rise, fall: target.fall) else { return }
        let transition = HealthTransition(target: target.key, from: before, to: after, lastResult: result, time: now)
        if after == .down { logger.warning("\(transition)") } else { logger.notice("\(transition)") }
        transitions.append(transition)
    }
}
