import CNVLBShims
import NVLBDataplane
import NVLBPolicy
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// The rings around one worker: frames in (from the receiver), frames handed over
/// by other workers, and completions out. Every ring is single-producer /
/// single-consumer, and each has room for every frame that can be in flight, so no
/// enqueue ever fails and no worker ever waits for another.
public final class WorkerRings: Sendable {
    public let input: SPSCRing<PacketDescriptor>
    /// `handoff[source]`: frames worker `source` received for flows this worker owns.
    public let handoff: [SPSCRing<PacketDescriptor>]
    public let completions: SPSCRing<PacketDescriptor>

    public init(workers: Int, capacity: Int) {
        input = SPSCRing(capacity: capacity)
        handoff = (0..<workers).map { _ in SPSCRing(capacity: capacity) }
        completions = SPSCRing(capacity: capacity)
    }
}

/// One worker's loop (SPEC §6): take frames from its input ring, classify them,
/// hand frames of flows owned by another worker to that worker, finish its own in
/// batches (prefetching their flow-table buckets) and push completions. Reads the
/// policy once per batch through the publisher and passes a quiescent point after
/// each batch. Owned and used by one worker thread. (A class rather than a
/// non-copyable struct: Swift 6.3 miscompiles inout `self` of such a struct under
/// ThreadSanitizer, and the concurrency tests run under it.)
public final class PacketWorker {
    public let index: Int
    public let workers: Int
    public var dataplane: DataplaneWorker
    let pool: PacketPool
    let rings: [WorkerRings]
    let batch: UnsafeMutablePointer<PacketDescriptor>
    let packets: UnsafeMutablePointer<Packet>
    let verdicts: UnsafeMutablePointer<Verdict>
    let owned: UnsafeMutablePointer<PacketDescriptor>
    let classifications: UnsafeMutablePointer<Classification>
    /// Frames per batch.
    public static let batchSize = 64

    public init(index: Int, workers: Int, dataplane: consuming DataplaneWorker, pool: PacketPool, rings: [WorkerRings]) {
        self.index = index
        self.workers = workers
        self.dataplane = dataplane
        self.pool = pool
        self.rings = rings
        batch = .allocate(capacity: Self.batchSize)
        packets = .allocate(capacity: Self.batchSize)
        verdicts = .allocate(capacity: Self.batchSize)
        owned = .allocate(capacity: Self.batchSize)
        classifications = .allocate(capacity: Self.batchSize)
        classifications.initialize(repeating: Classification(), count: Self.batchSize)
    }

    deinit {
        batch.deallocate()
        packets.deallocate()
        verdicts.deallocate()
        owned.deallocate()
        classifications.deallocate()
    }

    /// Runs until `stop` is set and every ring of this worker is empty.
    public func run(publisher: SnapshotPublisher<PolicySnapshot>, quiescence: QuiescentState, stop: borrowing Atomic<Bool>) {
        quiescence.online(worker: index)
        var idle = 0
        while true {
            let snapshot = publisher.current()
            let done = snapshot._withUnsafeGuaranteedRef { policy in pollOnce(policy) }
            quiescence.quiesce(worker: index)
            if done > 0 {
                idle = 0
                continue
            }
            if stop.load(ordering: .acquiring) && isDrained { break }
            idle += 1
            if idle > 64 { sched_yield() }
        }
        quiescence.offline(worker: index)
    }

    var isDrained: Bool {
        if !rings[index].input.isEmpty { return false }
        for source in 0..<workers where !rings[index].handoff[source].isEmpty { return false }
        return true
    }

    /// One pass over the rings. Returns how many frames it moved.
    @inline(__always)
    func pollOnce(_ policy: PolicySnapshot) -> Int {
        var moved = 0
        let mine = rings[index]
        for source in 0..<workers where source != index {
            let n = mine.handoff[source].dequeue(into: UnsafeMutableBufferPointer(start: batch, count: Self.batchSize))
            guard n > 0 else { continue }
            for i in 0..<n {
                let d = batch[i]
                packets[i] = Packet(base: pool.pointer(d.slot), start: Int(d.start), length: Int(d.length))
                DataplaneWorker.classify(&packets[i], into: &classifications[i], snapshot: policy)
            }
            finish(batch, count: n, policy: policy)
            moved += n
        }
        let n = mine.input.dequeue(into: UnsafeMutableBufferPointer(start: batch, count: Self.batchSize))
        if n > 0 {
            var kept = 0
            var handed = 0
            for i in 0..<n {
                let d = batch[i]
                var packet = Packet(base: pool.pointer(d.slot), start: Int(d.start), length: Int(d.length))
                let c = DataplaneWorker.classify(&packet, snapshot: policy)
                if let owner = Steering.owner(of: c, workers: workers), owner != index {
                    // Classification of a flow frame only reads it: the owner classifies
                    // again from the untouched frame with the policy it holds then.
                    _ = rings[owner].handoff[index].enqueue(d)
                    handed += 1
                } else {
                    owned[kept] = d
                    packets[kept] = packet
                    classifications[kept] = c
                    kept += 1
                }
            }
            if handed > 0 { dataplane.counters.handedOff(handed) }
            finish(owned, count: kept, policy: policy)
            moved += n
        }
        return moved
    }

    /// Copies fragments `first ..< first + count` of the worker's fragment buffer into the
    /// slot of `d`, behind its frame, each as a 16-bit length and the frame (the writer
    /// reads them after the batch's buffer is reused). Returns how many fit; replay slots
    /// have room for the fragments of the largest frame replayed.
    func storeFragments(first: Int, count: Int, behind d: PacketDescriptor) -> UInt16 {
        let slot = pool.pointer(d.slot)
        var offset = Int(d.start) + Int(d.length)
        var stored: UInt16 = 0
        for index in first..<(first + count) {
            let fragment = dataplane.fragments.frame(index)
            guard offset + 2 + fragment.length <= pool.slotSize else { break }
            slot.storeBytes(of: UInt16(truncatingIfNeeded: fragment.length), toByteOffset: offset, as: UInt16.self)
            (slot + offset + 2).copyMemory(from: fragment.bytes, byteCount: fragment.length)
            offset += 2 + fragment.length
            stored += 1
        }
        return stored
    }

    /// Finishes classified frames this worker owns (`packets` and `classifications`
    /// filled by the caller, in the order of `descriptors`) and completes them.
    @inline(__always)
    func finish(_ descriptors: UnsafeMutablePointer<PacketDescriptor>, count: Int, policy: PolicySnapshot) {
        guard count > 0 else { return }
        // Frames of one batch share the flow clock of the newest.
        var now: UInt32 = 0
        for i in 0..<count where descriptors[i].now > now { now = descriptors[i].now }
        dataplane.finishBatch(packets, classifications, count: count, verdicts: verdicts, snapshot: policy, now: now)
        let completions = rings[index].completions
        for i in 0..<count {
            var d = descriptors[i]
            d.complete(verdicts[i], packet: packets[i])
            if case .forwardFragments(_, let first, let extra) = verdicts[i] {
                d.extraFrames = storeFragments(first: Int(first), count: Int(extra), behind: d)
            }
            _ = completions.enqueue(d)
        }
    }
}
