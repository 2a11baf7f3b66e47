import NVLBDataplane
import NVLBPolicy
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// The rings around one replay worker: frames in (from the reader), frames handed over
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

/// A replay worker's I/O for the worker loop: frames are descriptors of slots in the
/// shared ``PacketPool``, so a hand-off passes the descriptor (no copy) and a finished
/// frame goes back to the writer as its descriptor with the verdict recorded.
final class ReplayWorkerIO: WorkerIO {
    typealias Token = PacketDescriptor
    let index: Int
    let workers: Int
    let pool: PacketPool
    let rings: [WorkerRings]
    let mine: WorkerRings

    init(index: Int, workers: Int, pool: PacketPool, rings: [WorkerRings]) {
        self.index = index
        self.workers = workers
        self.pool = pool
        self.rings = rings
        mine = rings[index]
    }

    var receiveSources: Int { 1 }

    /// True when no frame waits for this worker.
    var isDrained: Bool {
        if !mine.input.isEmpty { return false }
        for source in 0..<workers where !mine.handoff[source].isEmpty { return false }
        return true
    }

    @inline(__always)
    func packets(_ packets: UnsafeMutablePointer<Packet>, of tokens: UnsafeMutablePointer<PacketDescriptor>, count: Int)
    {
        for i in 0..<count {
            let d = tokens[i]
            packets[i] = Packet(base: pool.pointer(d.slot), start: Int(d.start), length: Int(d.length))
        }
    }

    @inline(__always)
    func receive(
        from source: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<PacketDescriptor>,
        max: Int
    ) -> Int {
        let n = mine.input.dequeue(into: UnsafeMutableBufferPointer(start: tokens, count: max))
        self.packets(packets, of: tokens, count: n)
        return n
    }

    @inline(__always)
    func receiveHandoffs(
        from worker: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<PacketDescriptor>,
        max: Int
    ) -> Int {
        let n = mine.handoff[worker].dequeue(into: UnsafeMutableBufferPointer(start: tokens, count: max))
        self.packets(packets, of: tokens, count: n)
        return n
    }

    /// Classification of a flow frame only reads it: the owner classifies again from the
    /// untouched frame with the policy it holds then. The ring has room for every frame
    /// in flight, so this never fails.
    @inline(__always)
    func handOff(_ packet: Packet, token: PacketDescriptor, to owner: Int) -> Bool {
        _ = rings[owner].handoff[index].enqueue(token)
        return true
    }

    @inline(__always)
    func intercept(_ packet: Packet, from source: Int, dataplane: inout DataplaneWorker) -> Bool { false }

    /// Frames of one batch share the flow clock of the newest (the capture's time).
    @inline(__always)
    func flowClock(_ tokens: UnsafeMutablePointer<PacketDescriptor>, count: Int) -> UInt32 {
        var now: UInt32 = 0
        for i in 0..<count where tokens[i].now > now { now = tokens[i].now }
        return now
    }

    @inline(__always)
    func transmit(
        _ packets: UnsafeMutablePointer<Packet>, verdicts: UnsafeMutablePointer<Verdict>,
        tokens: UnsafeMutablePointer<PacketDescriptor>, count: Int, receivedFrom source: Int?,
        fragments: borrowing FragmentBuffer
    ) {
        for i in 0..<count {
            var d = tokens[i]
            d.complete(verdicts[i], packet: packets[i])
            if case .forwardFragments(_, let first, let extra) = verdicts[i] {
                d.extraFrames = store(fragments, first: Int(first), count: Int(extra), behind: d)
            }
            _ = mine.completions.enqueue(d)
        }
    }

    /// Copies fragments `first ..< first + count` into the slot of `d`, behind its frame,
    /// each as a 16-bit length and the frame (the writer reads them after the worker's
    /// fragment buffer is reused). Returns how many fit; replay slots have room for the
    /// fragments of the largest frame replayed (`ReplayEngine.fragmentRoom`).
    func store(_ fragments: borrowing FragmentBuffer, first: Int, count: Int, behind d: PacketDescriptor) -> UInt16 {
        let slot = pool.pointer(d.slot)
        var offset = Int(d.start) + Int(d.length)
        var stored: UInt16 = 0
        for index in first..<(first + count) {
            let fragment = fragments.frame(index)
            guard offset + 2 + fragment.length <= pool.slotSize else { break }
            slot.storeBytes(of: UInt16(truncatingIfNeeded: fragment.length), toByteOffset: offset, as: UInt16.self)
            (slot + offset + 2).copyMemory(from: fragment.bytes, byteCount: fragment.length)
            offset += 2 + fragment.length
            stored += 1
        }
        return stored
    }
}

extension WorkerLoop where IO == ReplayWorkerIO {
    /// Runs until `stop` is set and every ring of this worker is empty. Reads the policy
    /// once per pass through the publisher and passes a quiescent point after each.
    func run(publisher: SnapshotPublisher<PolicySnapshot>, quiescence: QuiescentState, stop: borrowing Atomic<Bool>) {
        quiescence.online(worker: index)
        var idle = 0
        while true {
            let done = publisher.current()._withUnsafeGuaranteedRef { policy in poll(policy) }
            quiescence.quiesce(worker: index)
            if done > 0 {
                idle = 0
                continue
            }
            if stop.load(ordering: .acquiring) && io.isDrained { break }
            idle += 1
            if idle > 64 { sched_yield() }
        }
        quiescence.offline(worker: index)
    }
}
