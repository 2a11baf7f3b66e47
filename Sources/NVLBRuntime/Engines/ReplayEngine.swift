import CNVLBShims
import Foundation
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import Synchronization

/// `nvlb replay` (README.md "Commands"): reader → receive-side spreading → workers (steering and
/// hand-offs to flow owners) → writer. Every frame of the input is processed as if
/// received; every frame nvlb would send is written to the output with the input
/// frame's timestamp, in input order (so per-flow order is kept and the output does
/// not depend on the number of workers). The flow clock follows the capture.
public enum Replay {
    /// Options of a replay.
    public struct Options: Sendable {
        public var workers: Int = 1
        /// Pin worker threads to the CPUs of the placement plan.
        public var pinWorkers: Bool = true
        /// Flow table slots per worker; nil = the configuration's.
        public var flowCapacity: Int?
        /// Frames in flight (pool slots).
        public var inFlight: Int = 4096
        /// Called now and then with (bytes consumed, total bytes) on the reader thread.
        public var progress: (@Sendable (Int, Int) -> Void)?
        /// Publishes this many fresh copies of the policy while the replay runs (a test
        /// hook: snapshot publication under load).
        package var republish: Int = 0

        public init(workers: Int = 1) { self.workers = workers }
    }

    /// Frames per worker batch.
    static let batchSize = 64

    /// Largest frame replayed; longer frames (beyond any configurable MTU) count as `malformed`.
    public static let maximumFrame = 10_240
    /// Slot room behind a frame for the fragments it may become: each fragment of a
    /// `maximumFrame` datagram at the smallest MTU (576) adds at most 118 bytes of headers
    /// and length (22 fragments).
    static let fragmentRoom = 6_144

    /// Replays `input` into `output`; returns the merged statistics.
    public static func run(snapshot: PolicySnapshot, input: String, output: String, options: Options = Options())
        throws -> ReplayStatistics
    {
        let workers = max(1, options.workers)
        var reader = try PcapFileReader(path: input)
        var writer = try PcapFileWriter(path: output)
        let totalBytes = (try? FileManager.default.attributesOfItem(atPath: input)[.size] as? Int) ?? 0
        let pool = PacketPool(slotCount: options.inFlight, frameCapacity: maximumFrame + fragmentRoom)
        let rings = (0..<workers).map { _ in WorkerRings(workers: workers, capacity: options.inFlight) }
        let quiescence = QuiescentState(workerCount: workers)
        let publisher = SnapshotPublisher(initial: snapshot, quiescentState: quiescence)
        let stop = StopFlag()
        let results = WorkerResults(count: workers, initial: CounterSnapshot())
        let placement = WorkerPlacement.plan(workers: .count(workers), interface: nil)
        let capacity = options.flowCapacity ?? snapshot.configuration.balancer.flowTableCapacity

        var threads: [WorkerThread] = []
        for index in 0..<workers {
            let slot = placement.slots[index]
            threads.append(
                try WorkerThread.start(index: index, cpu: options.pinWorkers ? slot.cpu : nil) {
                    Self.workerBody(
                        index: index, workers: workers, node: slot.node, capacity: capacity, pool: pool, rings: rings,
                        publisher: publisher, quiescence: quiescence, stop: stop, results: results)
                })
        }
        defer {
            stop.value.store(true, ordering: .releasing)
            for thread in threads { thread.join() }
        }

        let started = nvlb_monotonic_nanoseconds()
        var timestamps = [PacketTimestamp](repeating: .zero, count: pool.slotCount)
        var pending = [PacketDescriptor?](repeating: nil, count: pool.slotCount)
        var sequence: UInt64 = 0
        var written: UInt64 = 0
        var readerCounters = CounterSnapshot()
        var consumed = 24
        var endOfInput = false
        var lastProgress: UInt64 = 0
        var republished = 0
        var idle = 0

        while !endOfInput || written < sequence {
            var progressed = false
            // Feed: read frames into free slots and spread them over the workers.
            while !endOfInput, let slot = pool.take() {
                let base = pool.pointer(slot)
                let record: PcapRecord?
                let result = Result { () throws(PcapError) in
                    try reader.read(into: base + Packet.headroom, capacity: maximumFrame)
                }
                switch result {
                case .success(let value):
                    record = value
                case .failure(let error):
                    guard error.kind == .frameTooLarge else { throw error }
                    // A frame longer than any link nvlb serves: counted, not processed.
                    pool.give(slot)
                    readerCounters.packetsIn += 1
                    readerCounters.dropped += 1
                    readerCounters.drops[.malformed, default: 0] += 1
                    continue
                }
                guard let record else {
                    pool.give(slot)
                    endOfInput = true
                    break
                }
                consumed += 16 + record.capturedLength
                timestamps[Int(slot)] = record.timestamp
                let descriptor = PacketDescriptor(
                    sequence: sequence, slot: slot, start: Int32(Packet.headroom),
                    length: Int32(record.capturedLength), now: UInt32(truncatingIfNeeded: record.timestamp.seconds))
                let worker = ReceiveSideScaling.worker(
                    frame: base + Packet.headroom, length: record.capturedLength, workers: workers)
                _ = rings[worker].input.enqueue(descriptor)
                sequence += 1
                progressed = true
                if sequence % 64 == 0 { break }
            }
            // Collect completions and write them in input order.
            for index in 0..<workers {
                while let done = rings[index].completions.dequeue() {
                    pending[Int(done.sequence % UInt64(pool.slotCount))] = done
                    progressed = true
                }
            }
            while let done = pending[Int(written % UInt64(pool.slotCount))], done.sequence == written {
                pending[Int(written % UInt64(pool.slotCount))] = nil
                if done.isSent {
                    try writer.write(
                        pool.pointer(done.slot) + Int(done.start), length: Int(done.length),
                        timestamp: timestamps[Int(done.slot)])
                    // Fragments of the frame follow it in the slot (PacketWorker.storeFragments).
                    var offset = Int(done.start) + Int(done.length)
                    for _ in 0..<done.extraFrames {
                        let base = pool.pointer(done.slot)
                        let length = Int(base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
                        try writer.write(base + offset + 2, length: length, timestamp: timestamps[Int(done.slot)])
                        offset += 2 + length
                    }
                }
                pool.give(done.slot)
                written += 1
            }
            if republished < options.republish {
                publisher.publish(PolicySnapshot(configuration: snapshot.configuration))
                republished += 1
            }
            if let progress = options.progress {
                let now = nvlb_monotonic_nanoseconds()
                if now &- lastProgress > 200_000_000 {
                    lastProgress = now
                    progress(consumed, totalBytes)
                }
            }
            if progressed {
                idle = 0
            } else {
                idle += 1
                if idle > 16 { sched_yield() }
            }
        }
        options.progress?(totalBytes, totalBytes)
        stop.value.store(true, ordering: .releasing)
        for thread in threads { thread.join() }
        publisher.synchronize(timeout: .seconds(5))
        try writer.close()
        let elapsed = Double(nvlb_monotonic_nanoseconds() &- started) / 1e9
        let merged = results.collected().reduce(readerCounters, +)
        return ReplayStatistics(counters: merged, snapshot: snapshot, workers: workers, seconds: elapsed)
    }

    static func workerBody(
        index: Int, workers: Int, node: Int32, capacity: Int, pool: PacketPool, rings: [WorkerRings],
        publisher: SnapshotPublisher<PolicySnapshot>, quiescence: QuiescentState, stop: StopFlag,
        results: WorkerResults<CounterSnapshot>
    ) {
        // Flow table memory on the worker's node, first touched by the worker itself.
        let memory: NUMABuffer
        do {
            memory = try NUMABuffer(byteCount: FlowTable.byteCount(capacity: capacity), node: node)
        } catch {
            fatalError("nvlb: cannot allocate the flow table of worker \(index): \(error)")
        }
        let io = ReplayWorkerIO(index: index, workers: workers, pool: pool, rings: rings)
        let worker = WorkerLoop(
            index: index, workers: workers,
            dataplane: DataplaneWorker(flows: FlowTable(memory: memory.baseAddress, capacity: capacity, zeroed: true)),
            io: io, batchSize: batchSize)
        worker.run(publisher: publisher, quiescence: quiescence, stop: stop.value)
        let counters = worker.dataplane.counters.snapshot()
        results.store(counters, worker: index)
        // The worker (whose flow table lives in `memory`) goes before the memory.
        withExtendedLifetime(worker) {}
        _ = consume memory
    }
}
