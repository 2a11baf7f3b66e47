import NVLBDataplane
import NVLBPolicy

/// The one worker loop of every engine (docs/architecture.md "The worker loop"): drain the
/// frames other workers handed over → receive → classify → steer (hand frames of flows
/// another worker owns to it) → finish the rest in a batch (prefetching their flow-table
/// buckets) → transmit. One pass per call of ``poll(_:)``; the engine decides when to
/// read the policy, pass quiescent points, idle and stop.
///
/// Owned and used by one worker thread. (A class rather than a non-copyable struct:
/// Swift 6.3 miscompiles inout `self` of such a struct under ThreadSanitizer, and the
/// concurrency tests run under it.)
final class WorkerLoop<IO: WorkerIO> {
    let index: Int
    let workers: Int
    var dataplane: DataplaneWorker
    let io: IO
    /// Frames per batch.
    let batchSize: Int
    let packets: UnsafeMutablePointer<Packet>
    let tokens: UnsafeMutablePointer<IO.Token>
    let classifications: UnsafeMutablePointer<Classification>
    let verdicts: UnsafeMutablePointer<Verdict>

    init(index: Int, workers: Int, dataplane: consuming DataplaneWorker, io: IO, batchSize: Int) {
        precondition(batchSize <= DataplaneWorker.maximumBatch)
        self.index = index
        self.workers = workers
        self.dataplane = dataplane
        self.io = io
        self.batchSize = batchSize
        packets = .allocate(capacity: batchSize)
        tokens = .allocate(capacity: batchSize)
        verdicts = .allocate(capacity: batchSize)
        classifications = .allocate(capacity: batchSize)
        classifications.initialize(repeating: Classification(), count: batchSize)
    }

    deinit {
        packets.deallocate()
        tokens.deallocate()
        verdicts.deallocate()
        classifications.deallocate()
    }

    /// One pass: every hand-off source, then every receive source, one batch each.
    /// Returns how many frames it took in.
    @inline(__always)
    func poll(_ policy: PolicySnapshot) -> Int {
        var moved = 0
        // Frames other workers received for flows this worker owns: the frame is as
        // received (classification only reads), so it is classified again here, with
        // the policy this worker holds now.
        for source in 0..<workers where source != index {
            let n = io.receiveHandoffs(from: source, into: packets, tokens: tokens, max: batchSize)
            guard n > 0 else { continue }
            for i in 0..<n {
                DataplaneWorker.classify(&packets[i], into: &classifications[i], snapshot: policy)
                prefetch(classifications[i])
            }
            finish(n, policy: policy, receivedFrom: nil)
            moved &+= n
        }
        for source in 0..<io.receiveSources {
            let n = io.receive(from: source, into: packets, tokens: tokens, max: batchSize)
            guard n > 0 else { continue }
            var kept = 0
            var handed = 0
            for i in 0..<n {
                if io.intercept(packets[i], from: source, dataplane: &dataplane) { continue }
                if kept != i {
                    packets[kept] = packets[i]
                    tokens[kept] = tokens[i]
                }
                DataplaneWorker.classify(&packets[kept], into: &classifications[kept], snapshot: policy)
                if workers > 1, let owner = Steering.owner(of: classifications[kept], workers: workers),
                    owner != index, io.handOff(packets[kept], token: tokens[kept], to: owner)
                {
                    handed &+= 1
                    continue
                }
                prefetch(classifications[kept])
                kept &+= 1
            }
            if handed > 0 { dataplane.counters.handedOff(handed) }
            finish(kept, policy: policy, receivedFrom: source)
            moved &+= n
        }
        return moved
    }

    /// Starts the DRAM fetch of a classified frame's flow-table bucket as soon as its
    /// hash is known: the classification of the rest of the batch overlaps the latency
    /// (what hides the miss of a large table).
    @inline(__always)
    func prefetch(_ classification: Classification) {
        if classification.kind != .done { dataplane.flows.prefetch(hash: classification.hash) }
    }

    /// Finishes the classified (and prefetched) frames `0 ..< count`: flow state,
    /// selection, rewrite, counting; then transmits them.
    @inline(__always)
    func finish(_ count: Int, policy: PolicySnapshot, receivedFrom source: Int?) {
        if count > 0 {
            dataplane.counters.adopt(policy)
            let now = io.flowClock(tokens, count: count)
            for i in 0..<count {
                verdicts[i] = dataplane.finish(&packets[i], classifications[i], snapshot: policy, now: now)
            }
        }
        io.transmit(
            packets, verdicts: verdicts, tokens: tokens, count: count, receivedFrom: source,
            fragments: dataplane.fragments)
    }
}
