import NVLBBalancing
import NVLBPolicy
import NVLBWire

/// A worker's data plane: its flow table and counters, and the per-packet
/// function `(snapshot, worker state, frame, now) → verdict` of docs/packets.md.
///
/// No I/O, no threads, no locks, no allocation per packet: a frame is parsed and
/// rewritten in place in the caller's buffer. `process` handles one frame;
/// `processBatch` classifies a batch first, prefetches the flow-table buckets,
/// then finishes each frame, which hides the memory latency of a large table.
public struct DataplaneWorker: ~Copyable {
    public var flows: FlowTable
    public var counters: WorkerCounters
    /// Next hops learned by ARP (live mode, docs/packets.md "ARP and next hops"); unused offline.
    public var neighbors: NeighborCache
    /// Live mode with probes: where probe replies go (docs/health.md); nil offline,
    /// where replies are counted and discarded.
    public var probeReplies: ProbeReplyQueue? = nil
    /// Live mode: resolve next hops without a static neighbour through `neighbors`.
    public var resolvesNeighbors = false
    /// Monotonic clock for `neighbors`, in milliseconds; set by the live loop per batch.
    public var clockMilliseconds: UInt64 = 0
    /// PAs to send an ARP request for (filled by the pipeline, drained by the live loop).
    @usableFromInline let arpQueue: UnsafeMutablePointer<UInt32>
    @usableFromInline var arpQueueCount = 0
    /// Capacity of the ARP request queue per batch.
    public static let arpQueueCapacity = 32
    /// Scratch space for a batch's classifications (allocated once).
    @usableFromInline let scratch: UnsafeMutablePointer<Classification>
    /// Largest batch `processBatch` accepts.
    public static let maximumBatch = 256
    /// The extra frames of packets fragmented in the current frame or batch.
    public var fragments = FragmentBuffer()
    /// "Fragmentation needed" messages this worker may still send in `icmpSecond`.
    @usableFromInline var icmpTokens: UInt32 = 0
    /// The flow-clock second `icmpTokens` belongs to.
    @usableFromInline var icmpSecond: UInt32 = 0
    /// False until the first "fragmentation needed" fills `icmpTokens`.
    @usableFromInline var icmpClockStarted = false

    /// A worker whose flow table owns `flowCapacity` slots of general memory.
    public init(flowCapacity: Int) {
        self.init(flows: FlowTable(capacity: flowCapacity))
    }

    /// A worker with a flow table built by the caller (e.g. on its NUMA node).
    public init(flows: consuming FlowTable) {
        self.flows = flows
        counters = WorkerCounters()
        neighbors = NeighborCache()
        arpQueue = .allocate(capacity: Self.arpQueueCapacity)
        scratch = .allocate(capacity: Self.maximumBatch)
        scratch.initialize(repeating: Classification(), count: Self.maximumBatch)
    }

    deinit {
        scratch.deallocate()
        arpQueue.deallocate()
    }

    /// The next-hop MAC toward a lookup record's PA (docs/packets.md "ARP and next hops"): a static neighbour; in
    /// live mode a MAC learned by ARP (queueing a request when there is none yet);
    /// else `underlay.gateway_mac`. 0 when unresolved.
    @inlinable @inline(__always)
    mutating func nextHop(_ record: UnsafeMutablePointer<CompiledRecord>) -> UInt64 {
        if !resolvesNeighbors || record.pointee.staticNeighbor { return record.pointee.nextHopMAC }
        let found = neighbors.lookup(IPv4Address(rawValue: record.pointee.pa), now: clockMilliseconds)
        if found.isResolved { return found.mac }
        // Without a gateway the PA must be resolved on the link: ask (rate-limited).
        if found.sendRequest && record.pointee.nextHopMAC == 0 && arpQueueCount < Self.arpQueueCapacity {
            arpQueue[arpQueueCount] = record.pointee.pa
            arpQueueCount &+= 1
        }
        return record.pointee.nextHopMAC
    }

    /// Hands the queued ARP requests (target PAs) to `body` and empties the queue.
    public mutating func drainARPRequests(_ body: (IPv4Address) -> Void) {
        for i in 0..<arpQueueCount { body(IPv4Address(rawValue: arpQueue[i])) }
        arpQueueCount = 0
    }

    /// Processes one received frame: parses, looks up, rewrites in place, counts.
    /// On `.forward`/`.answer` the frame to send is `packet.base[packet.start ..< packet.start + packet.length]`.
    /// - Precondition: `packet.start >= Packet.headroom`.
    @inlinable
    public mutating func process(_ packet: inout Packet, snapshot: PolicySnapshot, now: UInt32) -> Verdict {
        counters.adoptIfNeeded(snapshot)
        fragments.reset()
        let classification = Self.classify(&packet, snapshot: snapshot)
        return finish(&packet, classification, snapshot: snapshot, now: now)
    }

    /// Processes `count` frames: classify all, prefetch their buckets, finish all.
    /// `verdicts[i]` receives the outcome of `packets[i]`.
    @inlinable
    public mutating func processBatch(
        _ packets: UnsafeMutablePointer<Packet>, count: Int, verdicts: UnsafeMutablePointer<Verdict>,
        snapshot: PolicySnapshot, now: UInt32
    ) {
        precondition(count <= Self.maximumBatch)
        fragments.reset()
        // Prefetch each bucket as soon as its hash is known: the rest of the batch's
        // classification then overlaps the memory latency.
        for i in 0..<count {
            Self.classify(&packets[i], into: &scratch[i], snapshot: snapshot)
            if scratch[i].kind != .done { flows.prefetch(hash: scratch[i].hash) }
        }
        counters.adoptIfNeeded(snapshot)
        for i in 0..<count {
            verdicts[i] = finish(&packets[i], scratch[i], snapshot: snapshot, now: now)
        }
    }

    /// Second stage for a batch whose frames were classified by the caller (e.g. a
    /// receive loop that classified them to find their owner): prefetches the
    /// flow-table buckets of all, then finishes each.
    @inlinable
    public mutating func finishBatch(
        _ packets: UnsafeMutablePointer<Packet>, _ classifications: UnsafeMutablePointer<Classification>, count: Int,
        verdicts: UnsafeMutablePointer<Verdict>, snapshot: PolicySnapshot, now: UInt32
    ) {
        counters.adoptIfNeeded(snapshot)
        fragments.reset()
        for i in 0..<count where classifications[i].kind != .done { flows.prefetch(hash: classifications[i].hash) }
        for i in 0..<count {
            verdicts[i] = finish(&packets[i], classifications[i], snapshot: snapshot, now: now)
        }
    }

    /// Second stage: flow state, backend selection, rewrite, counting.
    @inlinable
    public mutating func finish(
        _ packet: inout Packet, _ c: Classification, snapshot: PolicySnapshot, now: UInt32
    ) -> Verdict {
        counters.received()
        let verdict: Verdict
        switch c.kind {
        case .done:
            verdict = c.verdict
            if c.protocolNumber == Self.icmp, case .answer = verdict { counters.add(.echoReplies) }
        case .externalRequest, .internalRequest: verdict = forwardRequest(&packet, c, snapshot: snapshot, now: now)
        case .reply: verdict = forwardReply(&packet, c, snapshot: snapshot, now: now)
        case .clientICMPError: verdict = forwardClientICMPError(&packet, c, snapshot: snapshot, now: now)
        case .backendICMPError: verdict = forwardBackendICMPError(&packet, c, snapshot: snapshot, now: now)
        case .probeReply: verdict = deliverProbeReply(packet)
        }
        switch verdict {
        case .forward: counters.forwarded()
        case .forwardFragments(_, _, let extra):
            counters.forwarded()
            counters.fragmented(extra: Int(extra))
        case .answer, .consumed: counters.answered()
        case .drop(let reason): counters.dropped(reason)
        }
        return verdict
    }
}

extension WorkerCounters {
    @inlinable @inline(__always)
    mutating func adoptIfNeeded(_ snapshot: PolicySnapshot) {
        if snapshot.generation != backendGeneration { adopt(snapshot) }
    }
}
