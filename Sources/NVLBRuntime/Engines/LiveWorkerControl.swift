import CNVLBShims
import NVLBDataplane
import NVLBPolicy
import NVLBWire
import Synchronization

/// A live worker's I/O whatever its backend (pcap, af_xdp): the worker loop's I/O plus
/// what ``LiveEngine/drive(_:worker:)`` does between passes.
protocol LiveWorkerIO: WorkerIO {
    /// Start of a pass: clocks and neighbour updates (``LiveWorkerControl/beginPass(_:)``).
    func beginPass(_ dataplane: inout DataplaneWorker)
    /// The policy of this pass (``LiveWorkerControl/adopt(_:)``).
    func adopt(_ policy: PolicySnapshot)
    /// End of a pass: ARP requests, gratuitous ARP, everything queued leaves.
    func endPass(_ dataplane: inout DataplaneWorker)
    /// The I/O counters as of now.
    func refreshCounters() -> LiveEngine.WorkerIOCounters
    /// Waits (offline) until frames arrive or about a millisecond passes.
    func idle()
}

/// What every live worker does besides moving frames, whatever its I/O backend: the pass
/// clocks, ARP learning shared with the other workers through neighbour rings, nvlb's own
/// addresses following the policy, gratuitous ARP (worker 0) and the flow census.
struct LiveWorkerControl: ~Copyable {
    let index: Int
    let workers: Int
    /// `neighborUpdates[destination][source]`.
    let neighborUpdates: [[SPSCRing<NeighborMessage>]]
    /// nvlb's PA and underlay MAC in the policy of the current pass (``adopt(_:)``).
    var ownAddress: UInt32
    var ownMAC: UInt64
    /// Gratuitous ARP (worker 0 only).
    var announcer = AddressAnnouncer()
    /// Live flows, counted between passes (docs/metrics.md `nvlb_flows`).
    var census = FlowCensus()
    /// Monotonic clock of the current pass, in nanoseconds.
    var clock: UInt64 = 0
    /// Flow clock of the current pass, in seconds.
    var now: UInt32 = 0

    init(
        index: Int, workers: Int, neighborUpdates: [[SPSCRing<NeighborMessage>]], ownAddress: IPv4Address,
        ownMAC: MACAddress
    ) {
        self.index = index
        self.workers = workers
        self.neighborUpdates = neighborUpdates
        self.ownAddress = ownAddress.rawValue
        self.ownMAC = ownMAC.rawValue
    }

    /// Start of a pass: the clocks, and what the other workers learned from ARP.
    mutating func beginPass(_ dataplane: inout DataplaneWorker) {
        let nanoseconds = nvlb_monotonic_nanoseconds()
        clock = nanoseconds
        now = UInt32(truncatingIfNeeded: nanoseconds / 1_000_000_000)
        dataplane.clockMilliseconds = nanoseconds / 1_000_000
        for source in 0..<workers where source != index {
            while let message = neighborUpdates[index][source].dequeue() {
                dataplane.neighbors.apply(
                    NeighborUpdate(
                        address: IPv4Address(rawValue: message.address), mac: MACAddress(rawValue: message.mac),
                        create: message.create),
                    now: dataplane.clockMilliseconds)
            }
        }
    }

    /// The policy of this pass: nvlb's own addresses follow it (a PA or MAC changed through
    /// the management API or SIGHUP takes effect without a restart), and worker 0 schedules
    /// gratuitous ARP when the addresses nvlb answers for changed.
    @inline(__always)
    mutating func adopt(_ policy: PolicySnapshot) {
        ownAddress = policy.underlayAddress
        ownMAC = policy.underlayMAC
        if index == 0 { _ = announcer.adopt(policy, now: clock / 1_000_000) }
    }

    /// A frame received on the underlay: learns from it when it is ARP and tells the other
    /// workers (an ARP frame reaches one worker only). True for an ARP reply, which ends
    /// here (counted received and answered); the caller releases its buffer.
    @inline(__always)
    func interceptARP(_ packet: Packet, dataplane: inout DataplaneWorker) -> Bool {
        guard packet.length >= 42,
            packet.bytes.loadUnaligned(fromByteOffset: 12, as: UInt16.self) == UInt16(0x0806).bigEndian
        else { return false }
        if let update = dataplane.neighbors.learn(
            arpFrame: packet.bytes, length: packet.length, ownAddress: IPv4Address(rawValue: ownAddress),
            now: dataplane.clockMilliseconds)
        {
            let message = NeighborMessage(
                address: update.address.rawValue, mac: update.mac.rawValue, create: update.create)
            for other in 0..<workers where other != index {
                _ = neighborUpdates[other][index].enqueue(message)
            }
        }
        guard packet.bytes.loadUnaligned(fromByteOffset: 20, as: UInt16.self) == UInt16(2).bigEndian else {
            return false
        }
        dataplane.counters.received()
        dataplane.counters.answered()
        return true
    }

    /// End of a pass, before the flush: `emit` writes each ARP request the pipeline asked
    /// for (next hops without a MAC yet) and each gratuitous ARP frame due (worker 0) —
    /// `write` fills a buffer of at least 64 bytes and returns the frame's length.
    mutating func queueARP(
        _ dataplane: inout DataplaneWorker, counters: inout LiveEngine.WorkerIOCounters,
        emit: (Port, (UnsafeMutableRawPointer) -> Int) -> Void
    ) {
        let mac = MACAddress(rawValue: ownMAC)
        let address = IPv4Address(rawValue: ownAddress)
        dataplane.drainARPRequests { target in
            emit(.underlay) {
                NeighborCache.writeRequest(for: target, sourceMAC: mac, sourceAddress: address, into: $0)
            }
        }
        guard index == 0, let list = announcer.due(now: clock / 1_000_000) else { return }
        for announcement in list {
            emit(announcement.port) { GratuitousARP.write(announcement, into: $0) }
        }
        counters.gratuitousARPs &+= UInt64(list.count)
    }

    /// After the flush: counts a slice of the flow table.
    mutating func countFlows(_ dataplane: borrowing DataplaneWorker, counters: inout LiveEngine.WorkerIOCounters) {
        if census.advance(dataplane.flows, now: now, clock: clock) {
            counters.flows = census.total
            counters.dipFlows = census.dips()
        }
    }
}

extension LiveEngine {
    /// The body of worker `slot.index`, whatever its backend: `open` opens its I/O (sockets,
    /// rings); with its flow table (on the worker's NUMA node) a failure is reported through
    /// `failures` before the start barrier. Then ``drive(_:worker:)`` until `stop`.
    func runWorker<IO: LiveWorkerIO>(slot: WorkerSlot, started: Barrier, open: () throws -> IO) {
        let index = slot.index
        let capacity = configuration.balancer.flowTableCapacity
        var opened: IO? = nil
        var flowMemory: NUMABuffer? = nil
        do {
            opened = try open()
            flowMemory = try NUMABuffer(byteCount: FlowTable.byteCount(capacity: capacity), node: slot.node)
        } catch {
            failures.withLock { $0.append("worker \(index): \(error)") }
            started.wait()
            return
        }
        started.wait()
        let io = opened!
        let memory = flowMemory.take()!
        var dataplane = DataplaneWorker(flows: FlowTable(memory: memory.baseAddress, capacity: capacity, zeroed: true))
        dataplane.resolvesNeighbors = true
        dataplane.probeReplies = probeReplies[index]
        let loop = WorkerLoop(
            index: index, workers: placement.slots.count, dataplane: dataplane, io: io, batchSize: Self.batch)
        drive(loop, worker: index)
        // The loop (whose flow table lives in `memory`) goes before the memory.
        withExtendedLifetime(loop) {}
        _ = consume memory
    }

    /// Runs a started worker until `stop`: per pass the policy is read once, then a
    /// quiescent point; counters are copied out about twice a second; an idle worker waits
    /// offline (a reload never waits for it).
    func drive<IO: LiveWorkerIO>(_ loop: WorkerLoop<IO>, worker index: Int) {
        let io = loop.io
        if let warning = Self.raisePriority() { logger.warning("worker \(index): \(warning)") }
        var lastReport: UInt64 = 0
        quiescence.online(worker: index)
        while !stopFlag.value.load(ordering: .acquiring) {
            io.beginPass(&loop.dataplane)
            let moved = publisher.current()._withUnsafeGuaranteedRef { policy in
                io.adopt(policy)
                return loop.poll(policy)
            }
            io.endPass(&loop.dataplane)
            quiescence.quiesce(worker: index)

            let clock = nvlb_monotonic_nanoseconds()
            if clock &- lastReport > 500_000_000 {
                lastReport = clock
                report(worker: index, loop: loop)
            }
            if moved == 0 {
                quiescence.offline(worker: index)
                io.idle()
                quiescence.online(worker: index)
            }
        }
        quiescence.offline(worker: index)
        report(worker: index, loop: loop)
    }

    /// Copies a worker's counters where ``counters()`` reads them.
    func report<IO: LiveWorkerIO>(worker index: Int, loop: WorkerLoop<IO>) {
        var snapshot = loop.dataplane.counters.snapshot()
        let figures = loop.io.refreshCounters()
        // Frames dropped at a full hand-off ring left the worker loop like hand-offs.
        snapshot.handoffs &-= figures.handoffDrops
        latest.withLock { $0[index] = snapshot }
        extra.withLock { $0[index] = figures }
    }
}
