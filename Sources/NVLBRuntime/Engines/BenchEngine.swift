import CNVLBShims
import Foundation
import NVLBDataplane
import NVLBPolicy
import NVLBTraffic
import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// `nvlb bench` (docs/statistics.md "nvlb bench --json"): in-memory throughput of the data plane. Each pinned
/// worker loops over its prebuilt frames (half client requests, half DIP replies of
/// N concurrent flows), copying each batch into receive buffers behind the headroom
/// (as a receive path would) and running the worker loop over it. A copy-only pass over the same
/// frames, in the same run, is the baseline. No I/O in the timed loops.
public enum Bench {
    public struct Options: Sendable {
        public var workers: Int
        public var flows: Int
        public var seconds: Double
        public var pinWorkers = true
        public init(workers: Int, flows: Int, seconds: Double) {
            self.workers = workers
            self.flows = flows
            self.seconds = seconds
        }
    }

    /// The `--json` document described in docs/statistics.md "nvlb bench --json".
    public struct Result: Codable, Sendable {
        public var workers: Int
        public var flows: Int
        public var seconds: Double
        public var packets: UInt64
        public var mpps: Double
        public var mppsPerWorker: [Double]
        /// CPU time of one worker per packet it processed (mean over workers).
        public var nsPerPacket: Double
        public var copyMpps: Double
        public var ratioToCopy: Double
        public var drops: UInt64

        enum CodingKeys: String, CodingKey {
            case workers, flows, seconds, packets, mpps, drops
            case mppsPerWorker = "mpps_per_worker", nsPerPacket = "ns_per_packet", copyMpps = "copy_mpps"
            case ratioToCopy = "ratio_to_copy"
        }

        public func json() -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
        }
    }

    struct WorkerFigures: Sendable {
        var packets: UInt64 = 0
        var seconds: Double = 0
        var cpuNanoseconds: UInt64 = 0
        var copyPackets: UInt64 = 0
        var copySeconds: Double = 0
        var drops: UInt64 = 0
        var cpu: Int32 = -1
    }

    /// Frames per batch in the timed loops.
    public static let batch = 64

    /// Runs the benchmark. `log` receives progress lines (placement, setup).
    public static func run(snapshot: PolicySnapshot, options: Options, log: @Sendable (String) -> Void) throws -> Result
    {
        let workers = max(1, options.workers)
        let setupStart = nvlb_monotonic_nanoseconds()
        let traffic = BenchTraffic(snapshot: snapshot, flows: options.flows, workers: workers) { hash in
            Steering.owner(hash: hash, workers: workers)
        }
        log(
            "prebuilt \(traffic.counts.reduce(0, +)) frames of \(traffic.flows) flows in \(String(format: "%.1f", Double(nvlb_monotonic_nanoseconds() - setupStart) / 1e9)) s"
        )
        // Tables at most half full: the configured capacity, or more for big runs.
        let perWorker = traffic.counts.max() ?? 0
        var tableSize = snapshot.configuration.balancer.flowTableCapacity
        while tableSize < 2 * perWorker { tableSize <<= 1 }
        let capacity = tableSize
        let placement = WorkerPlacement.plan(workers: .count(workers), interface: nil)
        log(placement.description)
        let figures = WorkerResults(count: workers, initial: WorkerFigures())
        let barrier = Barrier(parties: workers)
        let copySeconds = max(0.5, options.seconds / 4)
        let records = traffic.records.map { UInt(bitPattern: $0) }
        let lengths = traffic.lengths
        var threads: [WorkerThread] = []
        for index in 0..<workers {
            let slot = placement.slots[index]
            threads.append(
                try WorkerThread.start(index: index, cpu: options.pinWorkers ? slot.cpu : nil) {
                    let result = Self.worker(
                        index: index, workers: workers,
                        frames: UnsafeMutableRawPointer(bitPattern: records[index])!, lengths: lengths[index],
                        node: slot.node, capacity: capacity, snapshot: snapshot, seconds: options.seconds,
                        copySeconds: copySeconds, barrier: barrier)
                    figures.store(result, worker: index)
                })
        }
        for thread in threads { thread.join() }
        let all = figures.collected()
        let perWorkerMpps = all.map { $0.seconds > 0 ? Double($0.packets) / $0.seconds / 1e6 : 0 }
        let mpps = perWorkerMpps.reduce(0, +)
        let copyMpps = all.map { $0.copySeconds > 0 ? Double($0.copyPackets) / $0.copySeconds / 1e6 : 0 }.reduce(0, +)
        let active = all.filter { $0.packets > 0 }
        let ns =
            active.isEmpty
            ? 0 : active.map { Double($0.cpuNanoseconds) / Double($0.packets) }.reduce(0, +) / Double(active.count)
        return Result(
            workers: workers, flows: traffic.flows, seconds: options.seconds, packets: all.map(\.packets).reduce(0, +),
            mpps: mpps, mppsPerWorker: perWorkerMpps, nsPerPacket: ns, copyMpps: copyMpps,
            ratioToCopy: copyMpps > 0 ? mpps / copyMpps : 0, drops: all.map(\.drops).reduce(0, +))
    }

    static func worker(
        index: Int, workers: Int, frames: UnsafeMutableRawPointer, lengths: [UInt16], node: Int32, capacity: Int,
        snapshot: PolicySnapshot, seconds: Double, copySeconds: Double, barrier: Barrier
    ) -> WorkerFigures {
        var result = WorkerFigures()
        result.cpu = nvlb_current_cpu()
        let count = lengths.count
        let memory: NUMABuffer
        do {
            memory = try NUMABuffer(byteCount: FlowTable.byteCount(capacity: capacity), node: node)
        } catch {
            fatalError("nvlb bench: cannot allocate a flow table of \(capacity) slots: \(error)")
        }
        let io = BenchWorkerIO(frames: frames, lengths: lengths)
        let loop = WorkerLoop(
            index: index, workers: workers,
            dataplane: DataplaneWorker(flows: FlowTable(memory: memory.baseAddress, capacity: capacity, zeroed: true)),
            io: io, batchSize: batch)
        let clockBase: UInt32 = 1_000
        io.clock = clockBase

        // Warm-up: every flow seen once in both directions (the flow table holds N flows).
        if count > 0 {
            for _ in 0..<2 {
                var done = 0
                while done < count { done += loop.poll(snapshot) }
            }
        }
        let warmDrops = loop.dataplane.counters.snapshot().dropped

        // Copy-only pass: the receive step alone.
        barrier.wait()
        if count > 0 {
            let start = nvlb_monotonic_nanoseconds()
            let end = start + UInt64(copySeconds * 1e9)
            var packetsDone: UInt64 = 0
            var sink: Int = 0
            var now = start
            while now < end {
                for _ in 0..<16 {
                    let n = io.receive(from: 0, into: loop.packets, tokens: loop.tokens, max: batch)
                    sink &+= loop.packets[n - 1].length
                    packetsDone &+= UInt64(n)
                }
                now = nvlb_monotonic_nanoseconds()
            }
            result.copyPackets = packetsDone
            result.copySeconds = Double(now - start) / 1e9
            if sink == -1 { print(sink) }
        }

        // Data plane pass: the worker loop.
        barrier.wait()
        if count > 0 {
            let start = nvlb_monotonic_nanoseconds()
            let cpuStart = nvlb_thread_cpu_nanoseconds()
            let end = start + UInt64(seconds * 1e9)
            var packetsDone: UInt64 = 0
            var now = start
            while now < end {
                io.clock = clockBase &+ UInt32(truncatingIfNeeded: (now &- start) / 1_000_000_000)
                for _ in 0..<16 { packetsDone &+= UInt64(loop.poll(snapshot)) }
                now = nvlb_monotonic_nanoseconds()
            }
            result.cpuNanoseconds = nvlb_thread_cpu_nanoseconds() - cpuStart
            result.packets = packetsDone
            result.seconds = Double(now - start) / 1e9
        }
        result.drops = loop.dataplane.counters.snapshot().dropped - warmDrops
        // The loop (whose flow table lives in `memory`) goes before the memory.
        withExtendedLifetime(loop) {}
        _ = consume memory
        return result
    }
}

/// A bench worker's I/O for the worker loop: "receives" its prebuilt frames round-robin,
/// copying each batch into receive buffers behind the headroom as a receive path would,
/// and discards what the data plane sends. Frames are prebuilt for the worker that owns
/// their flow, so nothing is handed over.
final class BenchWorkerIO: WorkerIO {
    typealias Token = NoToken
    let frames: UnsafeMutableRawPointer
    let lengths: UnsafeMutablePointer<UInt16>
    let count: Int
    let slotSize = Packet.headroom + BenchTraffic.recordSize
    let buffers: UnsafeMutableRawPointer
    var cursor = 0
    /// The flow clock (seconds), set by the timed loop.
    var clock: UInt32 = 0

    init(frames: UnsafeMutableRawPointer, lengths: [UInt16]) {
        self.frames = frames
        count = lengths.count
        let table = UnsafeMutablePointer<UInt16>.allocate(capacity: max(1, lengths.count))
        lengths.withUnsafeBufferPointer {
            if let base = $0.baseAddress { table.initialize(from: base, count: $0.count) }
        }
        self.lengths = table
        buffers = .allocate(byteCount: DataplaneWorker.maximumBatch * slotSize, alignment: 64)
    }

    deinit {
        lengths.deallocate()
        buffers.deallocate()
    }

    var receiveSources: Int { 1 }

    /// Copies the next batch of frames into the receive buffers.
    @inline(__always)
    func receive(
        from source: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>, max: Int
    )
        -> Int
    {
        let n = min(max, count)
        for i in 0..<n {
            let length = Int(lengths[cursor])
            // Whole 128-byte records: a fixed-size copy the compiler turns into a few
            // vector moves (a receive path copies whole cache lines the same way).
            (buffers + i &* slotSize + Packet.headroom).copyMemory(
                from: frames + cursor &* BenchTraffic.recordSize, byteCount: BenchTraffic.recordSize)
            packets[i] = Packet(base: buffers + i &* slotSize, start: Packet.headroom, length: length)
            cursor &+= 1
            if cursor == count { cursor = 0 }
        }
        return n
    }

    @inline(__always)
    func receiveHandoffs(
        from worker: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>, max: Int
    ) -> Int { 0 }

    @inline(__always)
    func handOff(_ packet: Packet, token: NoToken, to owner: Int) -> Bool { false }

    @inline(__always)
    func intercept(_ packet: Packet, from source: Int, dataplane: inout DataplaneWorker) -> Bool { false }

    @inline(__always)
    func flowClock(_ tokens: UnsafeMutablePointer<NoToken>, count: Int) -> UInt32 { clock }

    @inline(__always)
    func transmit(
        _ packets: UnsafeMutablePointer<Packet>, verdicts: UnsafeMutablePointer<Verdict>,
        tokens: UnsafeMutablePointer<NoToken>, count: Int, receivedFrom source: Int?,
        fragments: borrowing FragmentBuffer
    ) {}
}
