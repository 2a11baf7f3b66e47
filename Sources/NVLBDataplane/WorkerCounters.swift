import NVLBWire
import NVLBBalancing
import NVLBPolicy

/// A worker's counters: plain integers written only by the worker. Readers on
/// other threads take a `snapshot()` when the worker is quiescent (replay), or
/// accept a slightly stale view (live statistics).
public struct WorkerCounters: ~Copyable {
    @usableFromInline enum Slot: Int {
        case packetsIn, packetsOut, answered, dropped, flowsCreated, handoffs
        @usableFromInline static let firstDrop = 6
    }
    /// Counters of ICMP and path MTU handling (docs/packets.md "ICMP and path MTU"),
    /// after the drop reasons.
    @usableFromInline enum Extra: Int, CaseIterable {
        case fragmentsOut, mssClamped, echoReplies, fragmentationNeeded, icmpErrorsForwarded
    }
    @usableFromInline static let firstExtra = Slot.firstDrop + DropReason.count
    @usableFromInline static let fixedCount = firstExtra + Extra.allCases.count

    @usableFromInline let block: UnsafeMutablePointer<UInt64>
    /// Packets forwarded to each DIP, indexed like `PolicySnapshot.backends` of `backendSnapshot`.
    @usableFromInline var backendPackets: UnsafeMutablePointer<UInt64>
    @usableFromInline var backendCount: Int
    /// Generation the per-DIP counters are indexed for.
    @usableFromInline var backendGeneration: UInt32
    @usableFromInline var backendNames: [(loadBalancer: String, backend: String)]
    /// Per-DIP counts of snapshots this worker has left behind, by name.
    @usableFromInline var retired: [String: [String: UInt64]] = [:]
    /// Per-listener traffic, 4 counters each (`VIPCounters` order), indexed like
    /// `PolicySnapshot.listeners` of `backendGeneration`; summed by (LB, VIP) when read.
    @usableFromInline var listenerTraffic: UnsafeMutablePointer<UInt64>
    @usableFromInline var listenerCount: Int
    /// (load balancer, VIP label) of each listener.
    @usableFromInline var listenerNames: [(loadBalancer: String, vip: String)]
    /// Per-VIP traffic of snapshots this worker has left behind.
    @usableFromInline var retiredVIPs: [String: [String: VIPCounters]] = [:]

    public init() {
        block = .allocate(capacity: Self.fixedCount)
        block.initialize(repeating: 0, count: Self.fixedCount)
        backendPackets = .allocate(capacity: 1)
        backendPackets.initialize(to: 0)
        backendCount = 0
        backendGeneration = 0
        backendNames = []
        listenerTraffic = .allocate(capacity: 4)
        listenerTraffic.initialize(repeating: 0, count: 4)
        listenerCount = 0
        listenerNames = []
    }

    deinit {
        block.deallocate()
        backendPackets.deallocate()
        listenerTraffic.deallocate()
    }

    @inlinable @inline(__always)
    mutating func add(_ slot: Slot) { block[slot.rawValue] &+= 1 }

    /// Counts a received frame.
    @inlinable @inline(__always)
    public mutating func received() { add(.packetsIn) }
    /// Counts a forwarded frame.
    @inlinable @inline(__always)
    public mutating func forwarded() { add(.packetsOut) }
    /// Counts an answered frame.
    @inlinable @inline(__always)
    public mutating func answered() { add(.answered) }
    /// Counts a frame dropped for `reason`.
    @inlinable @inline(__always)
    public mutating func dropped(_ reason: DropReason) {
        add(.dropped)
        block[Slot.firstDrop + Int(reason.rawValue)] &+= 1
    }
    /// Counts a packet forwarded without flow state (`flow_table_full`); not a drop.
    @inlinable @inline(__always)
    public mutating func statelessForward() { block[Slot.firstDrop + Int(DropReason.flowTableFull.rawValue)] &+= 1 }
    /// Counts `extra` frames sent besides the first fragment of a packet: they are frames
    /// out too (`packets_in = packets_out − fragments_out + answered + dropped`).
    @inlinable @inline(__always)
    public mutating func fragmented(extra: Int) {
        block[Slot.packetsOut.rawValue] &+= UInt64(extra)
        block[Self.firstExtra + Extra.fragmentsOut.rawValue] &+= UInt64(extra)
    }
    /// Counts an event of ICMP and path MTU handling (not a frame count of its own).
    @inlinable @inline(__always)
    mutating func add(_ extra: Extra) { block[Self.firstExtra + extra.rawValue] &+= 1 }
    /// Counts a new flow.
    @inlinable @inline(__always)
    public mutating func flowCreated() { add(.flowsCreated) }
    /// Counts `n` packets handed to another worker.
    @inlinable @inline(__always)
    public mutating func handedOff(_ n: Int = 1) { block[Slot.handoffs.rawValue] &+= UInt64(n) }
    /// Counts a packet forwarded to DIP `backend` (global index in the current snapshot).
    @inlinable @inline(__always)
    public mutating func toBackend(_ backend: Int) { backendPackets[backend] &+= 1 }
    /// Counts a client packet of `bytes` (IP length) forwarded for `listener` (index in the
    /// current snapshot's listeners).
    @inlinable @inline(__always)
    public mutating func vipRequest(_ listener: Int, bytes: Int) {
        guard listener >= 0, listener < listenerCount else { return }
        listenerTraffic[listener &* 4] &+= 1
        listenerTraffic[listener &* 4 &+ 1] &+= UInt64(truncatingIfNeeded: bytes)
    }
    /// Counts a reply of `bytes` (IP length) forwarded for `listener`; negative: unknown.
    @inlinable @inline(__always)
    public mutating func vipReply(_ listener: Int, bytes: Int) {
        guard listener >= 0, listener < listenerCount else { return }
        listenerTraffic[listener &* 4 &+ 2] &+= 1
        listenerTraffic[listener &* 4 &+ 3] &+= UInt64(truncatingIfNeeded: bytes)
    }

    /// Re-indexes the per-DIP counters for `snapshot` (call when a new snapshot is
    /// adopted; allocates, never on the packet path).
    public mutating func adopt(_ snapshot: PolicySnapshot) {
        guard snapshot.generation != backendGeneration else { return }
        for index in 0..<backendCount where backendPackets[index] > 0 {
            let name = backendNames[index]
            retired[name.loadBalancer, default: [:]][name.backend, default: 0] += backendPackets[index]
        }
        backendPackets.deallocate()
        backendCount = snapshot.backends.count
        backendPackets = .allocate(capacity: max(backendCount, 1))
        backendPackets.initialize(repeating: 0, count: max(backendCount, 1))
        backendGeneration = snapshot.generation
        backendNames = (0..<backendCount).map { index in
            (snapshot.loadBalancerNames[Int(snapshot.backends[index].loadBalancer)], snapshot.backendNames[index])
        }
        for index in 0..<listenerCount {
            let name = listenerNames[index]
            retiredVIPs[name.loadBalancer, default: [:]][name.vip, default: VIPCounters()].add(
                listenerTraffic + index * 4)
        }
        listenerTraffic.deallocate()
        listenerCount = snapshot.listeners.count
        listenerTraffic = .allocate(capacity: max(listenerCount, 1) * 4)
        listenerTraffic.initialize(repeating: 0, count: max(listenerCount, 1) * 4)
        listenerNames = (0..<listenerCount).map { index in
            let listener = snapshot.listeners[index]
            let lb = snapshot.loadBalancerNames[Int(snapshot.rules[Int(listener.rule)].loadBalancer)]
            let vip = IPv4Address(rawValue: listener.vip).description
            return (lb, listener.vsid == 0 ? vip : "\(listener.vsid)/\(vip)")
        }
    }

    /// A copy of every counter (allocates).
    public func snapshot() -> CounterSnapshot {
        var drops = [DropReason: UInt64]()
        for reason in DropReason.allCases { drops[reason] = block[Slot.firstDrop + Int(reason.rawValue)] }
        var backends = retired
        for index in 0..<backendCount {
            let name = backendNames[index]
            backends[name.loadBalancer, default: [:]][name.backend, default: 0] += backendPackets[index]
        }
        var snapshot = CounterSnapshot(
            packetsIn: block[Slot.packetsIn.rawValue], packetsOut: block[Slot.packetsOut.rawValue],
            answered: block[Slot.answered.rawValue], dropped: block[Slot.dropped.rawValue],
            flowsCreated: block[Slot.flowsCreated.rawValue], handoffs: block[Slot.handoffs.rawValue],
            drops: drops, backends: backends,
            fragmentsOut: block[Self.firstExtra + Extra.fragmentsOut.rawValue],
            mssClamped: block[Self.firstExtra + Extra.mssClamped.rawValue],
            echoReplies: block[Self.firstExtra + Extra.echoReplies.rawValue],
            fragmentationNeeded: block[Self.firstExtra + Extra.fragmentationNeeded.rawValue],
            icmpErrorsForwarded: block[Self.firstExtra + Extra.icmpErrorsForwarded.rawValue])
        var vips = retiredVIPs
        for index in 0..<listenerCount {
            let name = listenerNames[index]
            vips[name.loadBalancer, default: [:]][name.vip, default: VIPCounters()].add(listenerTraffic + index * 4)
        }
        snapshot.vips = vips
        return snapshot
    }
}

/// Counter values at one moment; additive across workers.
public struct CounterSnapshot: Sendable, Equatable {
    public var packetsIn: UInt64 = 0
    public var packetsOut: UInt64 = 0
    public var answered: UInt64 = 0
    /// Frames dropped: the sum of `drops` except `flow_table_full`, which counts
    /// packets forwarded without state.
    public var dropped: UInt64 = 0
    public var flowsCreated: UInt64 = 0
    public var handoffs: UInt64 = 0
    public var drops: [DropReason: UInt64] = [:]
    /// Packets forwarded to each DIP: load balancer name → `VSID/CA` → packets.
    public var backends: [String: [String: UInt64]] = [:]
    /// Frames sent besides the first fragment of inner packets nvlb fragmented (part of
    /// `packetsOut`).
    public var fragmentsOut: UInt64 = 0
    /// TCP SYN and SYN-ACK segments whose MSS option was lowered.
    public var mssClamped: UInt64 = 0
    /// ICMP echo requests answered (part of `answered`).
    public var echoReplies: UInt64 = 0
    /// ICMP "fragmentation needed" messages sent (part of `answered`).
    public var fragmentationNeeded: UInt64 = 0
    /// ICMP errors forwarded along their flow (part of `packetsOut`).
    public var icmpErrorsForwarded: UInt64 = 0
    /// Traffic of each VIP: load balancer name → VIP (`VIP`, or `VSID/VIP` when internal).
    public var vips: [String: [String: VIPCounters]] = [:]

    public init() {}

    /// Every counter, including those of ICMP and path MTU handling.
    public init(
        packetsIn: UInt64, packetsOut: UInt64, answered: UInt64, dropped: UInt64, flowsCreated: UInt64,
        handoffs: UInt64, drops: [DropReason: UInt64], backends: [String: [String: UInt64]], fragmentsOut: UInt64,
        mssClamped: UInt64, echoReplies: UInt64, fragmentationNeeded: UInt64, icmpErrorsForwarded: UInt64
    ) {
        self.init(
            packetsIn: packetsIn, packetsOut: packetsOut, answered: answered, dropped: dropped,
            flowsCreated: flowsCreated, handoffs: handoffs, drops: drops, backends: backends)
        self.fragmentsOut = fragmentsOut
        self.mssClamped = mssClamped
        self.echoReplies = echoReplies
        self.fragmentationNeeded = fragmentationNeeded
        self.icmpErrorsForwarded = icmpErrorsForwarded
    }

    public init(
        packetsIn: UInt64, packetsOut: UInt64, answered: UInt64, dropped: UInt64, flowsCreated: UInt64,
        handoffs: UInt64, drops: [DropReason: UInt64], backends: [String: [String: UInt64]]
    ) {
        self.packetsIn = packetsIn
        self.packetsOut = packetsOut
        self.answered = answered
        self.dropped = dropped
        self.flowsCreated = flowsCreated
        self.handoffs = handoffs
        self.drops = drops
        self.backends = backends
    }

    /// The count for one reason (0 when absent).
    public subscript(reason: DropReason) -> UInt64 { drops[reason] ?? 0 }

    /// Adds another worker's counters.
    public static func + (lhs: CounterSnapshot, rhs: CounterSnapshot) -> CounterSnapshot {
        var sum = lhs
        sum.packetsIn += rhs.packetsIn
        sum.packetsOut += rhs.packetsOut
        sum.answered += rhs.answered
        sum.dropped += rhs.dropped
        sum.flowsCreated += rhs.flowsCreated
        sum.handoffs += rhs.handoffs
        sum.fragmentsOut += rhs.fragmentsOut
        sum.mssClamped += rhs.mssClamped
        sum.echoReplies += rhs.echoReplies
        sum.fragmentationNeeded += rhs.fragmentationNeeded
        sum.icmpErrorsForwarded += rhs.icmpErrorsForwarded
        sum.drops.merge(rhs.drops, uniquingKeysWith: +)
        for (lb, dips) in rhs.backends { sum.backends[lb, default: [:]].merge(dips, uniquingKeysWith: +) }
        for (lb, vips) in rhs.vips { sum.vips[lb, default: [:]].merge(vips, uniquingKeysWith: +) }
        return sum
    }
}

/// Packets and bytes (IP length) of one VIP in both directions: `in` = client packets
/// forwarded to a DIP, `out` = replies forwarded to the client.
public struct VIPCounters: Sendable, Equatable {
    public var packetsIn: UInt64 = 0
    public var bytesIn: UInt64 = 0
    public var packetsOut: UInt64 = 0
    public var bytesOut: UInt64 = 0

    public init() {}

    /// Adds four counters laid out in this order.
    @usableFromInline
    mutating func add(_ values: UnsafeMutablePointer<UInt64>) {
        packetsIn += values[0]
        bytesIn += values[1]
        packetsOut += values[2]
        bytesOut += values[3]
    }

    public static func + (lhs: VIPCounters, rhs: VIPCounters) -> VIPCounters {
        var sum = lhs
        sum.packetsIn += rhs.packetsIn
        sum.bytesIn += rhs.bytesIn
        sum.packetsOut += rhs.packetsOut
        sum.bytesOut += rhs.bytesOut
        return sum
    }
}
