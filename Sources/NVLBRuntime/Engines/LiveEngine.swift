import CNVLBShims
import Foundation
import Logging
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBWire
import Synchronization

/// `nvlb run` (docs/operations.md): workers pinned to CPUs of the NIC's NUMA node, each with
/// its own libpcap capture of the underlay (and external) interface in one
/// `PACKET_FANOUT` group, its own batched transmitters, flow table and counters.
/// Frames the kernel spreads to a worker that does not own their flow are copied to
/// the owner through a lock-free SPSC ring. The policy is published by one pointer
/// swap (`reload`); workers pick it up between batches. This file is the engine
/// (start, reload, stop, counters); `LiveWorker.swift` is a worker's side: its links,
/// its I/O for the shared ``WorkerLoop`` and the passes around it.
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
        /// Frames dropped because the owner's hand-off ring was full (docs/statistics.md).
        public var handoffDrops: UInt64 = 0
        public var truncated: UInt64 = 0
        public var kernelDrops: UInt64 = 0
        /// Partial checksums the receive path completed, super-frames it segmented, and
        /// super-frames of a kind it does not segment, dropped (docs/operations.md "Offloads").
        public var checksumsCompleted: UInt64 = 0
        public var superframes: UInt64 = 0
        public var superframeDrops: UInt64 = 0
        /// Gratuitous ARP frames sent (docs/packets.md "ARP and next hops").
        public var gratuitousARPs: UInt64 = 0
        /// Live flows in this worker's table and per DIP (`VSID << 32 | CA`), as of its last
        /// complete census sweep (``FlowCensus``); nil before the first.
        public var flows: UInt64?
        public var dipFlows: [UInt64: UInt64] = [:]
        /// af_xdp: frames dropped because their TCP/UDP checksum was wrong (docs/afxdp.md).
        public var checksumDrops: UInt64 = 0
    }

    /// The live I/O backend in use (docs/operations.md "I/O backends").
    public let io: PolicyConfiguration.Underlay.IOBackend
    /// The af_xdp backend's UMEM and XDP programs; nil with pcap.
    let afxdp: AFXDPBackend?

    /// Plans placement and checks that the interfaces can be captured (a clear error
    /// for a missing interface or a lack of permission), without starting workers.
    /// `io` overrides `underlay.io` (`nvlb run --io`).
    public init(
        configuration: PolicyConfiguration, workers: Int?, io: PolicyConfiguration.Underlay.IOBackend? = nil,
        logger: Logger
    ) throws {
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
        self.io = io ?? configuration.underlay.io
        afxdp =
            self.io == .afXDP ? try AFXDPBackend(configuration: configuration, workers: n, logger: logger) : nil
        afxdp?.adopt(publisher.snapshot(), logger: logger)
    }

    /// Starts the workers. Throws when a worker cannot open its capture or transmitter.
    public func start() throws {
        placement.log(to: logger)
        let fanoutGroup = UInt16(truncatingIfNeeded: getpid())
        let started = Barrier(parties: placement.slots.count + 1)
        for slot in placement.slots {
            let thread = try WorkerThread.start(index: slot.index, cpu: slot.cpu) { [self] in
                if let afxdp {
                    runAFXDP(slot: slot, backend: afxdp, started: started)
                } else {
                    run(slot: slot, fanoutGroup: fanoutGroup, started: started)
                }
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
            let snapshot = PolicySnapshot(configuration: configuration, health: health)
            _ = publisher.publish(snapshot)
            afxdp?.adopt(snapshot, logger: logger)
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

    /// The DIPs probes currently find down (BGP announcements follow them).
    public var currentHealth: HealthState { health.withLock { $0 } }

    /// Stops and joins the workers.
    public func stop() {
        stopFlag.value.store(true, ordering: .releasing)
        for thread in threads { thread.join() }
        threads.removeAll()
        publisher.synchronize(timeout: .seconds(1))
        afxdp?.detach()
    }

    /// The XDP programs' counters (af_xdp only).
    public func xdpCounters() -> AFXDPProgram.Counters? { afxdp?.programCounters() }

    /// Counters summed over workers (as of each worker's last copy, ≤ 1 s old).
    public func counters() -> (dataplane: CounterSnapshot, io: WorkerIOCounters) {
        let dataplane = latest.withLock { $0.reduce(CounterSnapshot(), +) }
        let io = extra.withLock { list in
            list.reduce(into: WorkerIOCounters()) { sum, w in
                sum.transmitted += w.transmitted
                sum.transmitFailures += w.transmitFailures
                sum.handoffOverflows += w.handoffOverflows
                sum.handoffDrops += w.handoffDrops
                sum.truncated += w.truncated
                sum.kernelDrops += w.kernelDrops
                sum.checksumsCompleted += w.checksumsCompleted
                sum.superframes += w.superframes
                sum.superframeDrops += w.superframeDrops
                sum.gratuitousARPs += w.gratuitousARPs
                if let flows = w.flows { sum.flows = (sum.flows ?? 0) + flows }
                sum.dipFlows.merge(w.dipFlows, uniquingKeysWith: +)
                sum.checksumDrops += w.checksumDrops
            }
        }
        return (dataplane, io)
    }

    /// Each worker's I/O figures and flow census, as of its last copy (≤ 0.5 s old).
    public func workerCounters() -> [WorkerIOCounters] { extra.withLock { $0 } }

    /// Each worker's data-plane counters, as of its last copy (`counters()` is their sum).
    public func workerDataplaneCounters() -> [CounterSnapshot] { latest.withLock { $0 } }
}

/// A start-up or run-time failure of the live engine, with its reason.
public struct LiveEngineError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
