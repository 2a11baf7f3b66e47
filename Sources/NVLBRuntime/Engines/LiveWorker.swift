import CNVLBShims
import Logging
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A neighbour learned by one worker, for the others.
@frozen
public struct NeighborMessage: BitwiseCopyable, Sendable {
    public var address: UInt32
    public var mac: UInt64
    public var create: Bool
}

extension LiveEngine {
    /// The body of worker `slot.index`: opens its captures and transmitters (reporting a
    /// failure through `failures` before the start barrier), then runs the worker loop
    /// until `stop`. Between passes: neighbour updates from the other workers, ARP
    /// requests, a quiescent point, counters copied out about twice a second, and an idle
    /// wait in `poll` (offline, so a reload never waits for an idle worker).
    func run(slot: WorkerSlot, fanoutGroup: UInt16, started: Barrier) {
        let index = slot.index
        let batch = Self.batch
        runWorker(slot: slot, started: started) {
            var links: [Link] = []
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
            return LinkIO(
                index: index, workers: placement.slots.count, links: links, handoffs: handoffs,
                neighborUpdates: neighborUpdates, batch: batch, ownAddress: configuration.underlay.address,
                ownMAC: configuration.underlay.mac, logger: logger)
        }
    }

    /// The nice value of a worker thread (docs/operations.md "Overload").
    static let workerNice: Int32 = -10

    /// Gives the calling worker thread precedence over the kernel's deferred receive
    /// processing (`ksoftirqd`, nice 0) on its CPU: when more frames arrive than the CPU can
    /// forward, the kernel's share is what the worker leaves, so excess frames are dropped
    /// where they arrive (the interface's receive backlog, free for nvlb) instead of after
    /// the kernel did their receive work for a socket queue that overflows; the forwarded
    /// rate stays at its peak instead of falling to the worker's half of a contended CPU.
    /// The worker waits in `poll` when it has nothing to do, so the kernel still gets the
    /// CPU whenever frames wait for it. Returns a warning when not permitted (no
    /// `CAP_SYS_NICE`): the worker then runs at its inherited priority.
    static func raisePriority() -> String? {
        // Linux keeps the nice value per thread; `who` 0 is the calling thread.
        guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, workerNice) == 0 else {
            return "cannot raise priority to nice \(workerNice) (\(String(cString: strerror(errno)))): "
                + "under overload the forwarded rate may fall below its peak (docs/operations.md \"Overload\")"
        }
        return nil
    }

    /// Hands a received frame of a flow another worker owns to that worker through
    /// `ring` (docs/architecture.md "Steering and hand-offs"). Returns false only for a
    /// frame longer than a ring cell: the receiving worker finishes it itself (Maglev picks
    /// the same DIP), counted in `handoffOverflows`. A frame that finds the ring full is
    /// dropped and counted in `handoffDrops` (true): the owner is that far behind, so the
    /// frame would wait past any use, and finishing it here would give its flow a second
    /// entry, in this worker's table (one flow, one entry, in its owner's table).
    @inline(__always)
    static func handOff(_ packet: Packet, to ring: FrameHandoff, counters: inout WorkerIOCounters) -> Bool {
        guard packet.length <= ring.cellSize &- Packet.headroom else {
            counters.handoffOverflows &+= 1
            return false
        }
        if !ring.send(packet.bytes, length: packet.length) { counters.handoffDrops &+= 1 }
        return true
    }

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

    /// A live worker's I/O for the worker loop (docs/operations.md "Workers and NUMA placement"):
    /// libpcap captures of its `PACKET_FANOUT` members in, batched transmitters out, frame
    /// hand-offs to and from the other workers, ARP learning shared through neighbour rings.
    final class LinkIO: LiveWorkerIO {
        typealias Token = NoToken
        let index: Int
        let workers: Int
        let links: [Link]
        let underlay: Link
        let external: Link
        /// `handoffs[owner][source]`.
        let handoffs: [[FrameHandoff]]
        let rx: FrameBuffers
        let received: UnsafeMutablePointer<FrameHandoff.Descriptor>
        /// ARP requests and gratuitous ARP frames of the pass, kept until its flush.
        let arpFrames: UnsafeMutableRawPointer
        static let arpFrameCapacity = DataplaneWorker.arpQueueCapacity + 16
        let logger: Logger
        var control: LiveWorkerControl
        var counters = WorkerIOCounters()

        init(
            index: Int, workers: Int, links: [Link], handoffs: [[FrameHandoff]],
            neighborUpdates: [[SPSCRing<NeighborMessage>]], batch: Int, ownAddress: IPv4Address, ownMAC: MACAddress,
            logger: Logger
        ) {
            self.index = index
            self.workers = workers
            self.links = links
            underlay = links[0]
            external = links.count > 1 ? links[1] : links[0]
            self.handoffs = handoffs
            rx = FrameBuffers(count: batch, slotSize: 64 + LiveEngine.frameCapacity + 64, headroom: Packet.headroom)
            received = .allocate(capacity: batch)
            arpFrames = .allocate(byteCount: Self.arpFrameCapacity * 64, alignment: 64)
            control = LiveWorkerControl(
                index: index, workers: workers, neighborUpdates: neighborUpdates, ownAddress: ownAddress, ownMAC: ownMAC
            )
            self.logger = logger
        }

        deinit {
            received.deallocate()
            arpFrames.deallocate()
        }

        var receiveSources: Int { links.count }

        @inline(__always)
        func receive(
            from source: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>,
            max: Int
        ) -> Int {
            let link = links[source]
            let n: Int
            do {
                n = try link.capture.read(into: rx.slots, startingAt: 0, maxFrames: max)
            } catch {
                logger.error("worker \(index): receive on \(link.capture.interface) failed: \(error)")
                return 0
            }
            for i in 0..<n {
                packets[i] = Packet(base: rx.slots.slot(i), start: Packet.headroom, length: rx.slots.lengths[i])
            }
            return n
        }

        @inline(__always)
        func receiveHandoffs(
            from worker: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>,
            max: Int
        ) -> Int {
            handoffs[index][worker].receive(into: packets, descriptors: received, max: max)
        }

        /// Copies the frame to the owner's ring (``LiveEngine/handOff(_:to:counters:)``).
        /// True when the frame left this worker, handed over or dropped because the
        /// owner's ring is full (the loop counts both as `handoffs`; ``report(worker:loop:)``
        /// takes the drops back out).
        @inline(__always)
        func handOff(_ packet: Packet, token: NoToken, to owner: Int) -> Bool {
            LiveEngine.handOff(packet, to: handoffs[owner][index], counters: &counters)
        }

        /// ARP on the underlay (``LiveWorkerControl/interceptARP(_:dataplane:)``); an ARP
        /// reply to nvlb ends here, answered.
        @inline(__always)
        func intercept(_ packet: Packet, from source: Int, dataplane: inout DataplaneWorker) -> Bool {
            source == 0 && control.interceptARP(packet, dataplane: &dataplane)
        }

        @inline(__always)
        func flowClock(_ tokens: UnsafeMutablePointer<NoToken>, count: Int) -> UInt32 { control.now }

        @inline(__always)
        func transmit(
            _ packets: UnsafeMutablePointer<Packet>, verdicts: UnsafeMutablePointer<Verdict>,
            tokens: UnsafeMutablePointer<NoToken>, count: Int, receivedFrom source: Int?,
            fragments: borrowing FragmentBuffer
        ) {
            var fragmented = false
            for i in 0..<count {
                guard let port = verdicts[i].egress else { continue }
                let link = port == .underlay ? underlay : external
                link.transmitter.append(packets[i].bytes, length: packets[i].length)
                if case .forwardFragments(_, let first, let extra) = verdicts[i] {
                    for index in Int(first)..<(Int(first) + Int(extra)) {
                        let fragment = fragments.frame(index)
                        link.transmitter.append(fragment.bytes, length: fragment.length)
                    }
                    fragmented = true
                }
            }
            // The receive slots are reused by the next read, and fragments live in the
            // worker's buffer until its next batch: send them now. (Frames handed over stay
            // valid until the next pass; they leave with the end-of-pass flush.)
            if source != nil || fragmented { flush() }
        }

        func flush() {
            for link in links { counters.transmitted &+= UInt64(link.transmitter.flush()) }
        }

        func beginPass(_ dataplane: inout DataplaneWorker) { control.beginPass(&dataplane) }

        @inline(__always)
        func adopt(_ policy: PolicySnapshot) { control.adopt(policy) }

        /// End of a pass: ARP requests and gratuitous ARP, then everything queued leaves; a
        /// slice of the flow table is counted.
        func endPass(_ dataplane: inout DataplaneWorker) {
            var used = 0
            control.queueARP(&dataplane, counters: &counters) { port, write in
                if used == Self.arpFrameCapacity {
                    // Many addresses to announce: what is queued leaves, the buffers are reused.
                    flush()
                    used = 0
                }
                let frame = arpFrames + used &* 64
                used &+= 1
                (port == .underlay ? underlay : external).transmitter.append(frame, length: write(frame))
            }
            flush()
            control.countFlows(dataplane, counters: &counters)
        }

        /// The I/O counters as of now (transmit failures, truncations, kernel drops and the
        /// offloads the receive path finished, read from the sockets).
        func refreshCounters() -> WorkerIOCounters {
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
            counters.transmitFailures = failures
            counters.kernelDrops = kernelDrops
            counters.truncated = truncated
            counters.checksumsCompleted = offloads.checksumsCompleted
            counters.superframes = offloads.superframes
            counters.superframeDrops = offloads.unsupportedSuperframes
            return counters
        }

        /// Idle: sleep in poll until a frame arrives or a millisecond passes.
        func idle() {
            _ = try? links[0].capture.wait(timeoutMilliseconds: links.count > 1 ? 0 : 1)
            if links.count > 1 { _ = try? links[1].capture.wait(timeoutMilliseconds: 1) }
        }
    }
}
