import CNVLBShims
import Logging
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBWire
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// What the af_xdp backend shares between the engine and its workers (docs/afxdp.md): the
/// UMEM and nvlb's XDP program on each interface.
final class AFXDPBackend: @unchecked Sendable {
    /// One interface: its program, number of receive queues and UMEM. (A UMEM shared by
    /// two interfaces would need, for every socket of the second, the fill and completion
    /// rings of its own queue bound through the first socket of that queue, which libxdp does
    /// not arrange; a frame that leaves by the other interface is copied once instead.)
    struct Interface {
        let name: String
        let port: NVLBDataplane.Port
        let program: AFXDPProgram
        let queues: Int
        let umem: AFXDPUMEM
    }

    let interfaces: [Interface]
    let workers: Int

    /// Loads the program on every interface (replacing one a killed run left behind) and
    /// registers the UMEM.
    init(configuration: PolicyConfiguration, workers: Int, logger: Logger) throws {
        guard let object = AFXDPProgram.locateObject() else {
            let places = AFXDPProgram.objectCandidates().joined(separator: ", ")
            throw LiveEngineError(
                "--io af_xdp: the XDP program \(AFXDPProgram.objectName) was not found (looked in \(places)); "
                    + "`make build` or `make release` builds it next to nvlb")
        }
        self.workers = workers
        var names: [(String, NVLBDataplane.Port)] = [(configuration.underlay.interface!, .underlay)]
        if let external = configuration.external?.interface, external != names[0].0 {
            names.append((external, .external))
        }
        var list: [Interface] = []
        func fail(_ message: String) -> LiveEngineError {
            for other in list { other.program.detach() }
            return LiveEngineError(message)
        }
        for (name, port) in names {
            let queues = AFXDPProgram.receiveQueues(interface: name)
            guard queues * workers <= 1024 else {
                throw fail("--io af_xdp: \(name) has \(queues) receive queues; at most 1024 sockets per interface")
            }
            let umem: AFXDPUMEM
            do {
                umem = try AFXDPUMEM(frameCount: AFXDPUMEM.frameCount(sockets: queues * workers, queues: queues))
            } catch {
                throw fail("--io af_xdp: \(name): \(error)")
            }
            do {
                let program = try AFXDPProgram(
                    objectPath: object, interface: name, workers: workers, hashSeed: configuration.balancer.hashSeed)
                list.append(Interface(name: name, port: port, program: program, queues: queues, umem: umem))
                logger.info(
                    "\(name): XDP program \(object) attached (\(program.mode.rawValue) mode, id \(program.id)), \(queues) receive queue(s)"
                )
            } catch {
                throw fail("cannot attach the XDP program to \(name): \(error)")
            }
        }
        interfaces = list
    }

    /// Tells every program the frontend addresses of `snapshot` (requests and replies are
    /// told apart by them).
    func adopt(_ snapshot: PolicySnapshot, logger: Logger) {
        var keys = Set<UInt64>()
        for i in 0..<snapshot.listeners.count {
            let listener = snapshot.listeners[i]
            keys.insert(UInt64(listener.vsid) << 32 | UInt64(listener.vip))
        }
        for interface in interfaces {
            let result = interface.program.setFrontends(keys)
            if result != 0 {
                logger.warning(
                    "\(interface.name): XDP frontend map not fully updated (\(Errno(result))); frames may be handed between workers"
                )
            }
        }
    }

    /// Detaches every program.
    func detach() {
        for interface in interfaces { interface.program.detach() }
    }

    /// The programs' counters, summed.
    func programCounters() -> AFXDPProgram.Counters {
        var sum = AFXDPProgram.Counters()
        for interface in interfaces {
            let c = interface.program.counters()
            sum.steered += c.steered
            sum.toWorkerZero += c.toWorkerZero
            sum.ownerWithoutSocket += c.ownerWithoutSocket
            sum.dropped += c.dropped
        }
        return sum
    }
}

extension LiveEngine {
    /// The body of worker `slot.index` with the af_xdp backend: one AF_XDP socket per
    /// interface and receive queue, registered in the XDP program's socket map, then the
    /// same passes as ``run(slot:fanoutGroup:started:)``.
    func runAFXDP(slot: WorkerSlot, backend: AFXDPBackend, started: Barrier) {
        let index = slot.index
        let workers = placement.slots.count
        runWorker(slot: slot, started: started) {
            var links: [AFXDPLinkIO.Link] = []
            for interface in backend.interfaces {
                var sockets: [AFXDPSocket] = []
                for queue in 0..<interface.queues {
                    let socket = try AFXDPSocket(umem: interface.umem, interface: interface.name, queue: queue)
                    try interface.program.add(socket: socket, key: queue * workers + index)
                    sockets.append(socket)
                }
                links.append(AFXDPLinkIO.Link(port: interface.port, sockets: sockets, umem: interface.umem))
            }
            return AFXDPLinkIO(
                index: index, workers: workers, links: links, handoffs: handoffs,
                neighborUpdates: neighborUpdates, batch: Self.batch, ownAddress: configuration.underlay.address,
                ownMAC: configuration.underlay.mac)
        }
    }
}

/// A live worker's I/O with the af_xdp backend (docs/afxdp.md), for the worker loop: frames
/// are received into UMEM frames (the XDP program already steered them to this worker,
/// their flow's owner), rewritten in place, and sent from the same frames by the transmit
/// ring of the egress interface; frames dropped go back to the pool. Frames nvlb writes
/// itself (ARP requests, extra fragments, frames another worker handed over) are copied
/// into spare frames the worker takes from the pool once per pass.
final class AFXDPLinkIO: LiveWorkerIO {
    typealias Token = NoToken

    /// One interface as a worker sees it: a socket per receive queue (the first sends), the
    /// interface's UMEM, the frames this worker is done with and its spare frames there.
    final class Link {
        let port: NVLBDataplane.Port
        let sockets: [AFXDPSocket]
        let umem: AFXDPUMEM
        let area: UnsafeMutableRawPointer
        /// One past the area's last byte (``contains(_:)`` without touching `umem`).
        let areaEnd: UnsafeRawPointer
        /// Frames waiting to be sent: UMEM addresses and lengths.
        let pendingAddresses: UnsafeMutablePointer<UInt64>
        let pendingLengths: UnsafeMutablePointer<UInt32>
        var pending = 0
        static let capacity = 512
        /// Frames this worker is done with, returned to the pool at the end of the pass.
        let recycled: UnsafeMutablePointer<UInt64>
        var recycledCount = 0
        static let recycleCapacity = 1024
        /// Free frames of this worker (base addresses), for frames it writes itself.
        let spares: UnsafeMutablePointer<UInt64>
        var spareCount = 0
        static let spareTarget = 256

        init(port: NVLBDataplane.Port, sockets: [AFXDPSocket], umem: AFXDPUMEM) {
            self.port = port
            self.sockets = sockets
            self.umem = umem
            area = umem.area
            areaEnd = UnsafeRawPointer(umem.area + umem.frameCount &* umem.frameSize)
            pendingAddresses = .allocate(capacity: Self.capacity)
            pendingLengths = .allocate(capacity: Self.capacity)
            recycled = .allocate(capacity: Self.recycleCapacity)
            spares = .allocate(capacity: Self.spareTarget)
        }

        deinit {
            pendingAddresses.deallocate()
            pendingLengths.deallocate()
            recycled.deallocate()
            spares.deallocate()
        }

        /// Returns recycled frames, collects sent ones, refills the fill rings and tops up
        /// the spare frames.
        func service() {
            let taken = umem.service(
                give: recycled, giveCount: recycledCount, take: spares + spareCount, want: Self.spareTarget - spareCount
            )
            spareCount &+= taken
            recycledCount = 0
        }

        /// Whether `pointer` lies in this interface's UMEM.
        @inline(__always)
        func contains(_ pointer: UnsafeRawPointer) -> Bool {
            pointer >= UnsafeRawPointer(area) && pointer < areaEnd
        }

        @inline(__always)
        func recycle(_ base: UInt64) {
            if recycledCount == Self.recycleCapacity { service() }
            recycled[recycledCount] = base
            recycledCount &+= 1
        }

        /// A spare frame's base address, or nil when the pool has none.
        @inline(__always)
        func spare() -> UInt64? {
            if spareCount == 0 { service() }
            guard spareCount > 0 else { return nil }
            spareCount &-= 1
            return spares[spareCount]
        }
    }

    let index: Int
    let workers: Int
    let frameSize: Int
    /// Keeps the links alive; the per-packet paths reach them through `underlayLink` and
    /// `externalLink`, which cost no reference counting (docs/architecture.md "The data plane").
    let links: [Link]
    let underlayLink: Unmanaged<Link>
    let externalLink: Unmanaged<Link>
    var underlay: Link { underlayLink.takeUnretainedValue() }
    var external: Link { externalLink.takeUnretainedValue() }
    /// Per receive source: true for the underlay's sockets (ARP is answered there).
    let sourceIsUnderlay: UnsafeMutablePointer<Bool>
    /// Receive source → (link, socket).
    let sources: [(link: Link, socket: AFXDPSocket)]
    let handoffs: [[FrameHandoff]]
    let rxAddresses: UnsafeMutablePointer<UInt64>
    let rxLengths: UnsafeMutablePointer<UInt32>
    let received: UnsafeMutablePointer<FrameHandoff.Descriptor>
    let pollDescriptors: UnsafeMutablePointer<pollfd>
    var control: LiveWorkerControl
    var counters = LiveEngine.WorkerIOCounters()
    let batch: Int

    init(
        index: Int, workers: Int, links: [Link], handoffs: [[FrameHandoff]],
        neighborUpdates: [[SPSCRing<NeighborMessage>]], batch: Int, ownAddress: IPv4Address, ownMAC: MACAddress
    ) {
        self.index = index
        self.workers = workers
        frameSize = links[0].umem.frameSize
        self.links = links
        underlayLink = Unmanaged.passUnretained(links[0])
        externalLink = Unmanaged.passUnretained(links.count > 1 ? links[1] : links[0])
        sources = links.flatMap { link in link.sockets.map { (link: link, socket: $0) } }
        sourceIsUnderlay = .allocate(capacity: sources.count)
        for (i, source) in sources.enumerated() { sourceIsUnderlay[i] = source.link === links[0] }
        self.handoffs = handoffs
        self.batch = batch
        rxAddresses = .allocate(capacity: batch)
        rxLengths = .allocate(capacity: batch)
        received = .allocate(capacity: batch)
        pollDescriptors = .allocate(capacity: sources.count)
        for (i, source) in sources.enumerated() {
            pollDescriptors[i] = pollfd(fd: source.socket.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
        }
        control = LiveWorkerControl(
            index: index, workers: workers, neighborUpdates: neighborUpdates, ownAddress: ownAddress, ownMAC: ownMAC)
    }

    deinit {
        rxAddresses.deallocate()
        rxLengths.deallocate()
        received.deallocate()
        pollDescriptors.deallocate()
        sourceIsUnderlay.deallocate()
    }

    var receiveSources: Int { sources.count }

    @inline(__always)
    func receive(
        from source: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>, max: Int
    ) -> Int {
        let link = sources[source].link
        let area = link.area
        let n = sources[source].socket.receive(addresses: rxAddresses, lengths: rxLengths, max: max)
        var kept = 0
        let mask = ~UInt64(frameSize &- 1)
        for i in 0..<n {
            let address = rxAddresses[i]
            let base = address & mask
            let frame = area + Int(base)
            let start = Int(address &- base)
            let length = Int(rxLengths[i])
            switch AFXDPChecksum.check(frame + start, length: length) {
            case .bad:
                counters.checksumDrops &+= 1
                link.recycle(base)
                continue
            case .completed: counters.checksumsCompleted &+= 1
            case .valid, .notChecked: break
            }
            packets[kept] = Packet(base: frame, start: start, length: length)
            kept &+= 1
        }
        return kept
    }

    @inline(__always)
    func receiveHandoffs(
        from worker: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>, max: Int
    ) -> Int {
        handoffs[index][worker].receive(into: packets, descriptors: received, max: max)
    }

    /// The XDP program steers frames to their owner, so this happens only while the program's
    /// frontend map lags a reload: the frame is copied to the owner, as with the pcap backend
    /// (``LiveEngine/handOff(_:to:counters:)``).
    @inline(__always)
    func handOff(_ packet: Packet, token: NoToken, to owner: Int) -> Bool {
        guard LiveEngine.handOff(packet, to: handoffs[owner][index], counters: &counters) else { return false }
        recycle(packet)
        return true
    }

    /// ARP learning as with the pcap backend (the XDP program sends every ARP frame to
    /// worker 0, which tells the others); an ARP reply to nvlb ends here.
    @inline(__always)
    func intercept(_ packet: Packet, from source: Int, dataplane: inout DataplaneWorker) -> Bool {
        guard sourceIsUnderlay[source], control.interceptARP(packet, dataplane: &dataplane) else {
            return false
        }
        recycle(packet)
        return true
    }

    @inline(__always)
    func flowClock(_ tokens: UnsafeMutablePointer<NoToken>, count: Int) -> UInt32 { control.now }

    @inline(__always)
    func transmit(
        _ packets: UnsafeMutablePointer<Packet>, verdicts: UnsafeMutablePointer<Verdict>,
        tokens: UnsafeMutablePointer<NoToken>, count: Int, receivedFrom source: Int?,
        fragments: borrowing FragmentBuffer
    ) {
        for i in 0..<count {
            guard let port = verdicts[i].egress else {
                recycle(packets[i])
                continue
            }
            let packet = packets[i]
            let egress = port == .underlay ? underlayLink : externalLink
            egress._withUnsafeGuaranteedRef { link in
                if link.contains(packet.base) {
                    enqueue(link, address: UInt64(link.area.distance(to: packet.bytes)), length: packet.length)
                } else {
                    // Received on the other interface (its UMEM), or handed over by another
                    // worker (its ring's cell): copy it.
                    send(copyOf: packet.bytes, length: packet.length, by: link)
                    recycle(packet)
                }
            }
            if case .forwardFragments(_, let first, let extra) = verdicts[i] {
                for index in Int(first)..<(Int(first) + Int(extra)) {
                    let fragment = fragments.frame(index)
                    send(copyOf: fragment.bytes, length: fragment.length, by: egress.takeUnretainedValue())
                }
            }
        }
        flush()
    }

    /// A frame this worker is done with (dropped, consumed, handed over).
    @inline(__always)
    func recycle(_ packet: Packet) {
        if !recycle(packet, to: underlayLink) { _ = recycle(packet, to: externalLink) }
    }

    /// Returns the frame to `link`'s pool when it is one of its frames.
    @inline(__always)
    func recycle(_ packet: Packet, to link: Unmanaged<Link>) -> Bool {
        link._withUnsafeGuaranteedRef { link in
            guard link.contains(packet.base) else { return false }
            link.recycle(UInt64(link.area.distance(to: packet.base)))
            return true
        }
    }

    @inline(__always)
    func enqueue(_ link: Link, address: UInt64, length: Int) {
        if link.pending == Link.capacity { flush(link) }
        link.pendingAddresses[link.pending] = address
        link.pendingLengths[link.pending] = UInt32(truncatingIfNeeded: length)
        link.pending &+= 1
    }

    /// Copies a frame into a spare frame (behind `Packet.headroom`) and queues it.
    @inline(__always)
    func send(copyOf bytes: UnsafeRawPointer, length: Int, by link: Link) {
        guard length <= frameSize - Packet.headroom, let base = link.spare() else {
            counters.transmitFailures &+= 1
            return
        }
        (link.area + Int(base) + Packet.headroom).copyMemory(from: bytes, byteCount: length)
        enqueue(link, address: base &+ UInt64(Packet.headroom), length: length)
    }

    func flush() {
        for link in links where link.pending > 0 { flush(link) }
    }

    /// Puts the link's pending frames on its transmit ring; those that do not fit are
    /// counted as transmit failures and their frames go back to the pool.
    func flush(_ link: Link) {
        let sent = link.sockets[0].transmit(
            addresses: link.pendingAddresses, lengths: link.pendingLengths, count: link.pending)
        counters.transmitted &+= UInt64(sent)
        if sent < link.pending {
            counters.transmitFailures &+= UInt64(link.pending - sent)
            for i in sent..<link.pending { link.recycle(link.umem.frameBase(link.pendingAddresses[i])) }
        }
        link.pending = 0
    }

    /// Every link's UMEM bookkeeping.
    func service() {
        for link in links { link.service() }
    }

    func beginPass(_ dataplane: inout DataplaneWorker) { control.beginPass(&dataplane) }

    @inline(__always)
    func adopt(_ policy: PolicySnapshot) { control.adopt(policy) }

    /// End of a pass: ARP requests and gratuitous ARP written into spare frames, everything
    /// queued leaves, the UMEM's bookkeeping; a slice of the flow table is counted.
    func endPass(_ dataplane: inout DataplaneWorker) {
        control.queueARP(&dataplane, counters: &counters) { port, write in
            let link = port == .underlay ? underlay : external
            guard let base = link.spare() else {
                counters.transmitFailures &+= 1
                return
            }
            let length = write(link.area + Int(base) + Packet.headroom)
            enqueue(link, address: base &+ UInt64(Packet.headroom), length: length)
        }
        flush()
        service()
        control.countFlows(dataplane, counters: &counters)
    }

    /// The I/O counters as of now (the kernel's drops read from the sockets).
    func refreshCounters() -> LiveEngine.WorkerIOCounters {
        var drops: UInt64 = 0
        for source in sources {
            let s = source.socket.statistics()
            drops += s.receiveDropped + s.receiveRingFull
        }
        counters.kernelDrops = drops
        return counters
    }

    /// Idle: sleep in poll until a frame arrives or a millisecond passes.
    func idle() {
        _ = poll(pollDescriptors, nfds_t(sources.count), 1)
    }
}
