import CNVLBShims
import Foundation
import Logging
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBWire
import Synchronization

/// `nvlb run` (SPEC §6, §8): workers pinned to CPUs of the NIC's NUMA node, each with
/// its own libpcap capture of the underlay (and external) interface in one
/// `PACKET_FANOUT` group, its own batched transmitters, flow table and counters.
/// Frames the kernel spreads to a worker that does not own their flow are copied to
/// the owner through a lock-free SPSC ring. The policy is published by one pointer
/// swap (`reload`); workers pick it up between batches.
public final class LiveEngine: @unchecked Sendable {
    public let configuration: PolicyConfiguration
    public let placement: WorkerPlacement
    let logger: Logger
    let quiescence: QuiescentState
    let publisher: SnapshotPublisher<PolicySnapshot>
    let stopFlag = StopFlag()
    /// `handoffs[owner][source]`.
    let handoffs: [[FrameHandoff]]
    /// `neighborUpdates[destination][source]`: what one worker learned from ARP, for the
    /// others (ARP frames reach one fanout member only).
    let neighborUpdates: [[SPSCRing<NeighborMessage>]]
    /// Latest counters of each worker (copied by the worker about once a second).
    let latest: Mutex<[CounterSnapshot]>
    let extra: Mutex<[WorkerIOCounters]>
    let failures = Mutex<[String]>([])
    /// Probe replies of each worker, for the prober (docs/health.md).
    public let probeReplies: [ProbeReplyQueue]
    /// The DIPs probes found down, applied to every policy published (docs/health.md).
    let health = Mutex(HealthState.allUp)
    var threads: [WorkerThread] = []

    /// Frames per receive batch.
    public static let batch = 64
    /// Largest frame received (a 9,216-byte MTU frame fits).
    public static let frameCapacity = 9_600

    /// I/O figures of a worker, besides the data plane counters.
    public struct WorkerIOCounters: Sendable, Equatable {
        public var transmitted: UInt64 = 0
        public var transmitFailures: UInt64 = 0
        public var handoffOverflows: UInt64 = 0
        public var truncated: UInt64 = 0
        public var kernelDrops: UInt64 = 0
        /// Partial checksums the receive path completed, super-frames it segmented, and
        /// super-frames of a kind it does not segment, dropped (docs/operations.md "Offloads").
        public var checksumsCompleted: UInt64 = 0
        public var superframes: UInt64 = 0
        public var superframeDrops: UInt64 = 0
    }

    /// Plans placement and checks that the interfaces can be captured (a clear error
    /// for a missing interface or a lack of permission), without starting workers.
    public init(configuration: PolicyConfiguration, workers: Int?, logger: Logger) throws {
        guard let underlay = configuration.underlay.interface else {
            throw LiveEngineError("underlay.interface is required for nvlb run")
        }
        self.configuration = configuration
        self.logger = logger
        let count = workers.map { WorkerCount.count($0) } ?? WorkerCount(configuration.balancer.workers)
        placement = WorkerPlacement.plan(workers: count, interface: underlay)
        let n = placement.slots.count
        quiescence = QuiescentState(workerCount: n)
        publisher = SnapshotPublisher(initial: PolicySnapshot(configuration: configuration), quiescentState: quiescence)
        // 4,096 frames of up to 1,984 bytes per pair of workers (8 MiB): room for bursts
        // of standard frames; a longer frame, or one that finds the ring full, is finished
        // by the worker that received it (stateless-equivalent: Maglev picks the same DIP)
        // and counted as a hand-off overflow.
        handoffs = (0..<n).map { _ in
            (0..<n).map { _ in FrameHandoff(capacity: 4096, batch: Self.batch, frameCapacity: 1984) }
        }
        neighborUpdates = (0..<n).map { _ in (0..<n).map { _ in SPSCRing(capacity: 256) } }
        probeReplies = (0..<n).map { _ in ProbeReplyQueue() }
        latest = Mutex([CounterSnapshot](repeating: CounterSnapshot(), count: n))
        extra = Mutex([WorkerIOCounters](repeating: WorkerIOCounters(), count: n))
        for interface in Set([underlay, configuration.external?.interface].compactMap { $0 }) {
            do {
                _ = try LinkCapture(interface: interface, options: .init())
            } catch {
                throw LiveEngineError("cannot capture on \(interface): \(error)")
            }
            // A coalesced frame is a super-frame to cut again (docs/operations.md "Offloads").
            do {
                let outcome = try ReceiveCoalescing.disable(on: interface)
                let changed = [outcome.groTurnedOff ? "GRO" : nil, outcome.lroTurnedOff ? "LRO" : nil].compactMap { $0 }
                let what = changed.isEmpty ? "already off" : "turned \(changed.joined(separator: ", ")) off"
                logger.info("\(interface): receive coalescing (GRO, LRO) \(what)")
            } catch {
                logger.warning("\(interface): cannot turn receive coalescing off: \(error)")
            }
        }
    }

    /// Starts the workers. Throws when a worker cannot open its capture or transmitter.
    public func start() throws {
        placement.log(to: logger)
        let fanoutGroup = UInt16(truncatingIfNeeded: getpid())
        let started = Barrier(parties: placement.slots.count + 1)
        for slot in placement.slots {
            let thread = try WorkerThread.start(index: slot.index, cpu: slot.cpu) { [self] in
                run(slot: slot, fanoutGroup: fanoutGroup, started: started)
            }
            if case .failed = thread.pinning { logger.warning("worker \(slot.index): \(thread.pinning)") }
            threads.append(thread)
        }
        started.wait()
        let problems = failures.withLock { $0 }
        if !problems.isEmpty {
            stop()
            throw LiveEngineError(problems.joined(separator: "; "))
        }
    }

    /// Publishes a new policy: workers use it from their next batch; the old one is
    /// freed after every worker passed a quiescent point. Never blocks the workers.
    public func reload(_ configuration: PolicyConfiguration) {
        health.withLock { health in
            _ = publisher.publish(PolicySnapshot(configuration: configuration, health: health))
        }
    }

    /// Publishes the current configuration with new probe results (docs/health.md);
    /// returns the snapshot published.
    @discardableResult
    public func publish(health new: HealthState) -> PolicySnapshot {
        health.withLock { health in
            health = new
            let snapshot = PolicySnapshot(configuration: publisher.snapshot().configuration, health: new)
            _ = publisher.publish(snapshot)
            return snapshot
        }
    }

    /// The current policy's configuration.
    public var currentConfiguration: PolicyConfiguration { publisher.snapshot().configuration }

    /// Stops and joins the workers.
    public func stop() {
        stopFlag.value.store(true, ordering: .releasing)
        for thread in threads { thread.join() }
        threads.removeAll()
        publisher.synchronize(timeout: .seconds(1))
    }

    /// Counters summed over workers (as of each worker's last copy, ≤ 1 s old).
    public func counters() -> (dataplane: CounterSnapshot, io: WorkerIOCounters) {
        let dataplane = latest.withLock { $0.reduce(CounterSnapshot(), +) }
        let io = extra.withLock { list in
            list.reduce(into: WorkerIOCounters()) { sum, w in
                sum.transmitted += w.transmitted
                sum.transmitFailures += w.transmitFailures
                sum.handoffOverflows += w.handoffOverflows
                sum.truncated += w.truncated
                sum.kernelDrops += w.kernelDrops
                sum.checksumsCompleted += w.checksumsCompleted
                sum.superframes += w.superframes
                sum.superframeDrops += w.superframeDrops
            }
        }
        return (dataplane, io)
    }

    // MARK: Worker

    /// One interface as a worker sees it: its capture and its transmitter.
    final class Link {
        let port: NVLBDataplane.Port
        let capture: LinkCapture
        var transmitter: BatchTransmitter
        init(port: NVLBDataplane.Port, capture: consuming LinkCapture, transmitter: consuming BatchTransmitter) {
            self.port = port
            self.capture = capture
            self.transmitter = transmitter
        }
    }

    func run(slot: WorkerSlot, fanoutGroup: UInt16, started: Barrier) {
        let index = slot.index
        let workers = placement.slots.count
        let batch = Self.batch
        var links: [Link] = []
        var flowMemory: NUMABuffer? = nil
        do {
            let underlayName = configuration.underlay.interface!
            var options = LinkCapture.Options(fanout: PacketFanout(groupID: fanoutGroup, mode: .hash))
            options.snapshotLength = Self.frameCapacity
            links.append(
                Link(
                    port: .underlay, capture: try LinkCapture(interface: underlayName, options: options),
                    transmitter: try BatchTransmitter(interface: underlayName, capacity: 2 * batch)))
            if let external = configuration.external?.interface, external != underlayName {
                var externalOptions = options
                externalOptions.fanout = PacketFanout(groupID: fanoutGroup ^ 0x8000, mode: .hash)
                links.append(
                    Link(
                        port: .external, capture: try LinkCapture(interface: external, options: externalOptions),
                        transmitter: try BatchTransmitter(interface: external, capacity: 2 * batch)))
            }
            flowMemory = try NUMABuffer(
                byteCount: FlowTable.byteCount(capacity: configuration.balancer.flowTableCapacity), node: slot.node)
        } catch {
            failures.withLock { $0.append("worker \(index): \(error)") }
            started.wait()
            return
        }
        started.wait()
        let memory = flowMemory.take()!
        var dataplane = DataplaneWorker(
            flows: FlowTable(memory: memory.baseAddress, capacity: configuration.balancer.flowTableCapacity, zeroed: true))
        dataplane.resolvesNeighbors = true
        dataplane.probeReplies = probeReplies[index]
        let ownAddress = configuration.underlay.address
        let ownMAC = configuration.underlay.mac
        let requests = UnsafeMutableRawPointer.allocate(
            byteCount: DataplaneWorker.arpQueueCapacity * 64, alignment: 64)
        defer { requests.deallocate() }
        let rx = FrameBuffers(count: batch, slotSize: 64 + Self.frameCapacity + 64, headroom: Packet.headroom)
        let packets = UnsafeMutablePointer<Packet>.allocate(capacity: batch)
        let classifications = UnsafeMutablePointer<Classification>.allocate(capacity: batch)
        classifications.initialize(repeating: Classification(), count: batch)
        let verdicts = UnsafeMutablePointer<Verdict>.allocate(capacity: batch)
        let owned = UnsafeMutablePointer<Int>.allocate(capacity: batch)
        let received = UnsafeMutablePointer<FrameHandoff.Descriptor>.allocate(capacity: batch)
        defer {
            packets.deallocate()
            classifications.deallocate()
            verdicts.deallocate()
            owned.deallocate()
            received.deallocate()
        }
        var io = WorkerIOCounters()
        var lastReport: UInt64 = 0
        let external = links.count > 1 ? links[1] : links[0]
        let underlay = links[0]

        /// Sends the processed frames `0 ..< count` of `packets` by their verdicts.
        func transmit(_ count: Int) {
            var fragmented = false
            for i in 0..<count {
                switch verdicts[i] {
                case .forward(.underlay), .answer(.underlay):
                    underlay.transmitter.append(packets[i].bytes, length: packets[i].length)
                case .forward(.external), .answer(.external):
                    external.transmitter.append(packets[i].bytes, length: packets[i].length)
                case .forwardFragments(let port, let first, let extra):
                    let link = port == .underlay ? underlay : external
                    link.transmitter.append(packets[i].bytes, length: packets[i].length)
                    for index in Int(first)..<(Int(first) + Int(extra)) {
                        let fragment = dataplane.fragments.frame(index)
                        link.transmitter.append(fragment.bytes, length: fragment.length)
                    }
                    fragmented = true
                case .drop, .consumed:
                    break
                }
            }
            // Fragments live in the worker's buffer until its next batch: send them now.
            if fragmented {
                for l in links { io.transmitted &+= UInt64(l.transmitter.flush()) }
            }
        }

        /// Queues ARP requests the pipeline asked for (next hops without a MAC yet).
        func sendARPRequests() {
            var i = 0
            dataplane.drainARPRequests { target in
                let buffer = requests + i &* 64
                let length = NeighborCache.writeRequest(
                    for: target, sourceMAC: ownMAC, sourceAddress: ownAddress, into: buffer)
                underlay.transmitter.append(buffer, length: length)
                i &+= 1
            }
        }

        quiescence.online(worker: index)
        while !stopFlag.value.load(ordering: .acquiring) {
            var moved = 0
            let nanoseconds = nvlb_monotonic_nanoseconds()
            let now = UInt32(truncatingIfNeeded: nanoseconds / 1_000_000_000)
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
            publisher.current()._withUnsafeGuaranteedRef { policy in
                // Frames other workers received for flows this worker owns.
                for source in 0..<workers where source != index {
                    let handoff = handoffs[index][source]
                    let n = handoff.receive(into: received, max: batch)
                    guard n > 0 else { continue }
                    for i in 0..<n {
                        packets[i] = Packet(
                            base: handoff.cell(received[i]), start: Packet.headroom, length: Int(received[i].length))
                        DataplaneWorker.classify(&packets[i], into: &classifications[i], snapshot: policy)
                    }
                    dataplane.finishBatch(
                        packets, classifications, count: n, verdicts: verdicts, snapshot: policy, now: now)
                    transmit(n)
                    moved += n
                }
                for link in links {
                    let n: Int
                    do {
                        n = try link.capture.read(into: rx.slots, startingAt: 0, maxFrames: batch)
                    } catch {
                        logger.error("worker \(index): receive on \(link.capture.interface) failed: \(error)")
                        n = 0
                    }
                    guard n > 0 else { continue }
                    var kept = 0
                    var handed = 0
                    for i in 0..<n {
                        var packet = Packet(base: rx.slots.slot(i), start: Packet.headroom, length: rx.slots.lengths[i])
                        if link.port == .underlay,
                            packet.length >= 42,
                            packet.bytes.loadUnaligned(fromByteOffset: 12, as: UInt16.self) == UInt16(0x0806).bigEndian
                        {
                            // Learn from every ARP frame on the underlay and tell the other
                            // workers; an ARP reply to nvlb ends here (handled: answered).
                            if let update = dataplane.neighbors.learn(
                                arpFrame: packet.bytes, length: packet.length, ownAddress: ownAddress,
                                now: dataplane.clockMilliseconds)
                            {
                                let message = NeighborMessage(
                                    address: update.address.rawValue, mac: update.mac.rawValue, create: update.create)
                                for other in 0..<workers where other != index {
                                    _ = neighborUpdates[other][index].enqueue(message)
                                }
                            }
                            if packet.bytes.loadUnaligned(fromByteOffset: 20, as: UInt16.self) == UInt16(2).bigEndian {
                                dataplane.counters.received()
                                dataplane.counters.answered()
                                continue
                            }
                        }
                        DataplaneWorker.classify(&packet, into: &classifications[kept], snapshot: policy)
                        if let owner = Steering.owner(of: classifications[kept], workers: workers), owner != index {
                            if handoffs[owner][index].send(packet.bytes, length: packet.length) {
                                handed += 1
                                continue
                            }
                            io.handoffOverflows += 1
                        }
                        packets[kept] = packet
                        kept += 1
                    }
                    if handed > 0 { dataplane.counters.handedOff(handed) }
                    dataplane.finishBatch(
                        packets, classifications, count: kept, verdicts: verdicts, snapshot: policy, now: now)
                    transmit(kept)
                    // The receive slots are reused by the next read: send them now.
                    for l in links { io.transmitted &+= UInt64(l.transmitter.flush()) }
                    moved += n
                }
            }
            sendARPRequests()
            for link in links { io.transmitted &+= UInt64(link.transmitter.flush()) }
            quiescence.quiesce(worker: index)

            let clock = nvlb_monotonic_nanoseconds()
            if clock &- lastReport > 500_000_000 {
                lastReport = clock
                io.collect(from: links)
                let snapshot = dataplane.counters.snapshot()
                let figures = io
                latest.withLock { $0[index] = snapshot }
                extra.withLock { $0[index] = figures }
            }
            if moved == 0 {
                // Idle: sleep in poll (offline, so a reload never waits for this worker).
                quiescence.offline(worker: index)
                _ = try? links[0].capture.wait(timeoutMilliseconds: links.count > 1 ? 0 : 1)
                if links.count > 1 { _ = try? links[1].capture.wait(timeoutMilliseconds: 1) }
                quiescence.online(worker: index)
            }
        }
        quiescence.offline(worker: index)
        io.collect(from: links)
        let snapshot = dataplane.counters.snapshot()
        let figures = io
        latest.withLock { $0[index] = snapshot }
        extra.withLock { $0[index] = figures }
        // `dataplane` (whose flow table lives in `memory`) is destroyed before `memory`.
    }
}

extension LiveEngine.WorkerIOCounters {
    /// Refreshes the figures the worker's links keep (send failures, kernel drops, truncated
    /// frames, offloads finished by the receive path): every half second and at exit.
    mutating func collect(from links: [LiveEngine.Link]) {
        var failures: UInt64 = 0
        var kernelDrops: UInt64 = 0
        var truncated: UInt64 = 0
        var offloads = LinkCapture.Counters()
        for link in links {
            let c = link.capture.counters
            offloads.checksumsCompleted += c.checksumsCompleted
            offloads.superframes += c.superframes
            offloads.unsupportedSuperframes += c.unsupportedSuperframes
            failures += link.transmitter.counters.framesFailed
            truncated += UInt64(link.capture.truncatedFrames)
            if let s = link.capture.statistics() { kernelDrops += s.droppedByKernel }
        }
        self.transmitFailures = failures
        self.kernelDrops = kernelDrops
        self.truncated = truncated
        self.checksumsCompleted = offloads.checksumsCompleted
        self.superframes = offloads.superframes
        self.superframeDrops = offloads.unsupportedSuperframes
    }
}

/// A neighbour learned by one worker, for the others.
@frozen
public struct NeighborMessage: BitwiseCopyable, Sendable {
    public var address: UInt32
    public var mac: UInt64
    public var create: Bool
}

/// A start-up or run-time failure of the live engine, with its reason.
public struct LiveEngineError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
