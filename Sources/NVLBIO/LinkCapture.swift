import CNVLBShims
import NVLBWire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// nvlb's own receive path on a live interface: an `AF_PACKET` socket with
/// `PACKET_VNET_HDR`, so that each frame comes with the offloads its sender left pending,
/// which the capture finishes before the data plane sees the frame
/// (docs/packets.md "Frames from virtual links"):
///
/// - a partial TCP/UDP checksum (`VIRTIO_NET_HDR_F_NEEDS_CSUM`: the field holds only the
///   pseudo-header sum) is completed, so the data plane's incremental update stays right;
/// - a TCP super-frame (TSO/GSO, up to 64 KB) is cut into segments of the sender's
///   `gso_size` with their own IPv4 lengths, identifications, sequence numbers, flags and
///   checksums; a UDP super-frame (USO) into datagrams; a super-frame of another kind (UFO,
///   IPv6) is dropped and counted (``Counters/unsupportedSuperframes``);
/// - a VLAN tag the interface took off (`PACKET_AUXDATA`) is put back into the frame.
///
/// Same interface as ``LiveCapture`` (which libpcap backs, and which cannot see the
/// offload status): promiscuous, incoming frames only, non-blocking, optional fanout;
/// ``read(into:startingAt:maxFrames:)`` fills ``FrameSlots`` with one `recvmmsg` per
/// batch of up to 64 frames, no allocation. Frames from a sender without offloads cost nothing more
/// than the 10-byte header. A BPF filter (``LiveCapture/Options/filter``) is not supported.
///
/// Non-copyable owner of its socket and buffers; not thread-safe (one worker thread).
public struct LinkCapture: ~Copyable {
    /// How the capture is opened: ``LiveCapture``'s options (`snapshotLength` caps the
    /// frames kept; `immediate` is implied; `filter` must be nil).
    public typealias Options = LiveCapture.Options

    /// What the capture did to the frames it received.
    public struct Counters: Hashable, Sendable {
        /// Partial checksums completed.
        public var checksumsCompleted: UInt64 = 0
        /// TCP or UDP super-frames received and segmented.
        public var superframes: UInt64 = 0
        /// Segments written from super-frames.
        public var segments: UInt64 = 0
        /// Super-frames dropped because nvlb does not segment their kind (UFO, IPv6, not
        /// IPv4 TCP/UDP, headers cut short).
        public var unsupportedSuperframes: UInt64 = 0
        /// Frames longer than a slot (or the super-frame buffer), truncated or dropped.
        public var truncated: UInt64 = 0
        /// VLAN tags put back into frames.
        public var vlanTagsRestored: UInt64 = 0

        /// All zero.
        public init() {}
    }

    /// The socket, closed by `deinit`.
    public let socketDescriptor: FileDescriptor
    /// The descriptor to `poll` (the socket itself).
    public var pollDescriptor: FileDescriptor { socketDescriptor }
    /// The interface captured.
    public let interface: String
    /// Warnings for the log (none today; kept for ``LiveCapture`` parity).
    public let warnings: [String]
    /// Receive state: the super-frame buffer and what is left of the current super-frame.
    private let state: UnsafeMutablePointer<LinkCaptureState>
    /// Bytes kept of a frame that is not a super-frame.
    private let snapshotLength: Int

    /// Bytes of the super-frame buffer: the largest IPv4 packet, a tagged Ethernet header,
    /// and room to insert a tag.
    static let superframeCapacity = 65_535 + 18 + 4

    /// Opens the socket on `interface`, promiscuous, joined to `options.fanout` if any.
    ///
    /// - Throws: ``LiveIOError`` naming the interface and the call that failed.
    public init(interface: String, options: Options = Options()) throws(LiveIOError) {
        let index = try Syscalls.interfaceIndex(interface)
        guard options.filter == nil else {
            throw LiveIOError(
                kind: .other, interface: interface, operation: "LinkCapture", message: "BPF filters are not supported")
        }
        let descriptor = try Syscalls.fromShim(nvlb_packet_socket_open_vnet(index)).map(FileDescriptor.init)
            .get(interface: interface, operation: "socket(AF_PACKET, PACKET_VNET_HDR)")
        func fail(_ error: Errno, _ operation: String) -> LiveIOError {
            Syscalls.close(descriptor)
            return LiveIOError(error, interface: interface, operation: operation)
        }
        if options.promiscuous, let error = Syscalls.addPromiscuousMembership(descriptor, interfaceIndex: index) {
            throw fail(error, "setsockopt(PACKET_ADD_MEMBERSHIP)")
        }
        // Frames sent on the interface are also recognised by their packet type.
        if options.incomingOnly { _ = Syscalls.ignoreOutgoing(descriptor) }
        // The socket's queue is the only buffer between the kernel and the worker (libpcap
        // has its ring): as large as asked, past net.core.rmem_max when privileged.
        _ = nvlb_socket_set_receive_buffer_force(descriptor.rawValue, Int32(clamping: options.bufferBytes))
        if let fanout = options.fanout, let error = Syscalls.joinFanout(descriptor, fanout) {
            throw fail(error, "setsockopt(PACKET_FANOUT, group \(fanout.groupID), \(fanout.mode))")
        }
        socketDescriptor = descriptor
        self.interface = interface
        warnings = []
        snapshotLength = max(options.snapshotLength, 64)
        state = .allocate(capacity: 1)
        state.initialize(to: LinkCaptureState(incomingOnly: options.incomingOnly))
    }

    deinit {
        Syscalls.close(socketDescriptor)
        state.pointee.release()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Waits until a frame may be read, at most `timeoutMilliseconds` (0: just check).
    /// Returns false on timeout or when interrupted by a signal, and true at once while
    /// segments of a super-frame remain.
    ///
    /// - Throws: ``LiveIOError`` when `poll` fails.
    public func wait(timeoutMilliseconds: Int32) throws(LiveIOError) -> Bool {
        if state.pointee.queueCount > 0 { return true }
        return try Syscalls.poll(socketDescriptor, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
            .get(interface: interface, operation: "poll")
    }

    /// Receives up to `maxFrames` frames into `slots`, the first into slot `startingAt`,
    /// and returns how many (0 when none was waiting: never blocks). Every frame written has
    /// complete checksums and, when it came from a super-frame, the sender's segment size.
    ///
    /// Cost: one `recvmmsg` per batch of up to 64 frames, no allocation. A super-frame's
    /// segments and the frames received after it in its batch are handed out in order, in
    /// this call or the next ones, before anything newer is received.
    ///
    /// - Throws: ``LiveIOError`` when the kernel reports an error (the interface went away).
    public func read(into slots: FrameSlots, startingAt start: Int = 0, maxFrames: Int) throws(LiveIOError) -> Int {
        let limit = min(slots.count, start &+ maxFrames)
        let s = state
        var next = drain(into: slots, at: start, limit: limit)
        // Room for a VLAN tag to be put back: frames are received 4 bytes short of the slot.
        // A longer frame continues in its batch position's region, after `room` bytes, so
        // that copying the slot's part in front makes a super-frame whole there.
        let room = min(slots.frameCapacity, snapshotLength) &- 4
        let overflowCapacity = Self.superframeCapacity &- 4 &- room
        while next < limit, s.pointee.queueCount == 0 {
            let want = min(limit &- next, LinkCaptureState.batch)
            for i in 0..<want {
                s.pointee.frames[i] = slots.frame(next &+ i)
                s.pointee.overflows[i] = s.pointee.region(i) + room
            }
            let result = nvlb_packet_receive_vnet_batch(
                socketDescriptor.rawValue, s.pointee.headers, s.pointee.frames, room, s.pointee.overflows,
                overflowCapacity, UInt32(want), s.pointee.lengths, s.pointee.types, s.pointee.vlans)
            if result < 0 {
                let error = Errno(-result)
                if error == .wouldBlock { break }
                if error == .interrupted { continue }
                // The kernel refuses to describe a super-frame of a kind virtio_net_hdr has
                // no name for (e.g. GRE-encapsulated GSO) and drops it.
                if error == .invalidArgument {
                    s.pointee.counters.unsupportedSuperframes &+= 1
                    continue
                }
                throw LiveIOError(error, interface: interface, operation: "recvmmsg")
            }
            let n = Int(result)
            if n == 0 { break }
            var out = next
            var i = 0
            while i < n {
                if s.pointee.incomingOnly, s.pointee.types[i] == Int32(NVLB_PACKET_OUTGOING) {
                    i &+= 1
                    continue
                }
                if s.pointee.headers[i].gso_type & ~UInt8(NVLB_VNET_GSO_ECN) != UInt8(NVLB_VNET_GSO_NONE) {
                    // This super-frame and the rest of the batch wait in their regions, in order.
                    for k in i..<n {
                        deferFrame(k, from: slots.frame(next &+ k), room: room, capacity: slots.frameCapacity)
                    }
                    break
                }
                let frame = slots.frame(next &+ i)
                var length = Int(s.pointee.lengths[i])
                if length > room {
                    s.pointee.counters.truncated &+= 1
                    length = room
                }
                length = finish(frame, length: length, header: s.pointee.headers[i], vlan: s.pointee.vlans[i])
                if out != next &+ i { slots.frame(out).copyMemory(from: frame, byteCount: length) }
                slots.lengths[out] = length
                out &+= 1
                i &+= 1
            }
            next = drain(into: slots, at: out, limit: limit)
        }
        return next &- start
    }

    /// Puts back the VLAN tag and completes a partial checksum of the `length`-byte frame
    /// at `frame` (with 4 bytes of room after it); returns its length.
    @inline(__always)
    private func finish(_ frame: UnsafeMutableRawPointer, length: Int, header: nvlb_vnet_header, vlan: UInt32) -> Int {
        var length = length
        var checksumStart = Int(header.csum_start)
        if vlan != 0 {
            Self.insertTag(vlan, at: frame, frameLength: length)
            length &+= 4
            checksumStart &+= 4
            state.pointee.counters.vlanTagsRestored &+= 1
        }
        if header.flags & UInt8(NVLB_VNET_NEEDS_CSUM) != 0,
            ReceiveOffloads.completeChecksum(
                frame, length: Self.packetEnd(frame, length: length), start: checksumStart,
                offset: Int(header.csum_offset))
        {
            state.pointee.counters.checksumsCompleted &+= 1
        }
        return length
    }

    /// Moves batch position `k`'s frame (its first `room` bytes in the slot at `frame`) to
    /// its region and queues it: a super-frame's geometry, or a finished plain frame.
    private func deferFrame(_ k: Int, from frame: UnsafeMutableRawPointer, room: Int, capacity: Int) {
        let s = state
        if s.pointee.incomingOnly, s.pointee.types[k] == Int32(NVLB_PACKET_OUTGOING) { return }
        let base = s.pointee.region(k)
        var length = Int(s.pointee.lengths[k])
        let header = s.pointee.headers[k]
        let gsoType = Int32(header.gso_type & ~UInt8(NVLB_VNET_GSO_ECN))
        if gsoType == Int32(NVLB_VNET_GSO_NONE) {
            if length > room {
                s.pointee.counters.truncated &+= 1
                length = room
            }
            base.copyMemory(from: frame, byteCount: length)
            length = finish(base, length: length, header: header, vlan: s.pointee.vlans[k])
            s.pointee.enqueue(LinkCaptureState.Deferred(region: k, superframe: nil, length: length))
            return
        }
        guard length <= Self.superframeCapacity &- 4 else {
            s.pointee.counters.truncated &+= 1
            return
        }
        base.copyMemory(from: frame, byteCount: min(length, room))
        if s.pointee.vlans[k] != 0 {
            Self.insertTag(s.pointee.vlans[k], at: base, frameLength: length)
            length &+= 4
            s.pointee.counters.vlanTagsRestored &+= 1
        }
        let l3 = Self.networkOffset(base, length: length)
        let geometry: ReceiveOffloads.Superframe? =
            switch gsoType {
            case Int32(NVLB_VNET_GSO_TCPV4):
                ReceiveOffloads.tcp(base, length: length, networkOffset: l3, segmentSize: Int(header.gso_size))
            case Int32(NVLB_VNET_GSO_UDP_L4):
                ReceiveOffloads.udp(base, length: length, networkOffset: l3, segmentSize: Int(header.gso_size))
            default: nil
            }
        guard let geometry, geometry.maximumSegmentLength <= capacity else {
            s.pointee.counters.unsupportedSuperframes &+= 1
            return
        }
        s.pointee.counters.superframes &+= 1
        s.pointee.enqueue(LinkCaptureState.Deferred(region: k, superframe: geometry, length: length))
    }

    /// Hands out queued frames and segments into slots `start ..< limit`; returns the next
    /// free slot.
    @inline(__always)
    private func drain(into slots: FrameSlots, at start: Int, limit: Int) -> Int {
        let s = state
        var next = start
        while next < limit, s.pointee.queueCount > 0 {
            let entry = s.pointee.queue[s.pointee.queueHead]
            let base = UnsafeRawPointer(s.pointee.region(entry.region))
            if let geometry = entry.superframe {
                var segment = s.pointee.nextSegment
                while next < limit, segment < geometry.segmentCount {
                    slots.lengths[next] = ReceiveOffloads.writeSegment(
                        segment, of: geometry, from: base, into: slots.frame(next))
                    segment &+= 1
                    next &+= 1
                    s.pointee.counters.segments &+= 1
                }
                s.pointee.nextSegment = segment
                guard segment == geometry.segmentCount else { break }
                s.pointee.nextSegment = 0
            } else {
                slots.frame(next).copyMemory(from: base, byteCount: entry.length)
                slots.lengths[next] = entry.length
                next &+= 1
            }
            s.pointee.queueHead &+= 1
            s.pointee.queueCount &-= 1
        }
        return next
    }

    /// ``wait(timeoutMilliseconds:)`` then ``read(into:startingAt:maxFrames:)``: the
    /// worker's receive step (a read first, so a busy link costs no `poll`).
    public func receive(
        into slots: FrameSlots, startingAt start: Int = 0, maxFrames: Int, timeoutMilliseconds: Int32
    ) throws(LiveIOError) -> Int {
        let count = try read(into: slots, startingAt: start, maxFrames: maxFrames)
        if count > 0 || timeoutMilliseconds == 0 { return count }
        guard try wait(timeoutMilliseconds: timeoutMilliseconds) else { return 0 }
        return try read(into: slots, startingAt: start, maxFrames: maxFrames)
    }

    /// What the capture did so far.
    public var counters: Counters { state.pointee.counters }

    /// Frames truncated or dropped for their length since the capture opened.
    public var truncatedFrames: Int { Int(state.pointee.counters.truncated) }

    /// The kernel's counters (`PACKET_STATISTICS`), accumulated since the capture opened;
    /// nil when the kernel does not answer. `droppedByInterface` is always 0.
    public func statistics() -> LiveCaptureStatistics? {
        var packets: UInt32 = 0
        var drops: UInt32 = 0
        guard nvlb_packet_statistics(socketDescriptor.rawValue, &packets, &drops) == 0 else { return nil }
        state.pointee.received &+= UInt64(packets)
        state.pointee.dropped &+= UInt64(drops)
        return LiveCaptureStatistics(
            received: state.pointee.received, droppedByKernel: state.pointee.dropped, droppedByInterface: 0)
    }

    /// Puts a VLAN tag (TPID << 16 | TCI) back after the MAC addresses of the
    /// `frameLength`-byte frame at `frame`, moving the rest 4 bytes up (the caller leaves
    /// room for them).
    @inline(__always)
    static func insertTag(_ vlan: UInt32, at frame: UnsafeMutableRawPointer, frameLength: Int) {
        guard frameLength >= 12 else { return }
        (frame + 16).copyMemory(from: frame + 12, byteCount: frameLength &- 12)
        frame.storeBigEndian(vlan, toByteOffset: 12)
    }

    /// Offset of the IPv4 header: after the Ethernet header and one 802.1Q/802.1ad tag.
    @inline(__always)
    static func networkOffset(_ frame: UnsafeRawPointer, length: Int) -> Int {
        guard length >= 18 else { return 14 }
        let type = frame.loadBigEndian(fromByteOffset: 12, as: UInt16.self)
        return type == 0x8100 || type == 0x88A8 ? 18 : 14
    }

    /// Where an IPv4 packet in the frame ends (its total length), without link padding;
    /// the frame's length for anything else.
    @inline(__always)
    static func packetEnd(_ frame: UnsafeRawPointer, length: Int) -> Int {
        let l3 = networkOffset(frame, length: length)
        guard length >= l3 &+ 20,
            frame.loadBigEndian(fromByteOffset: l3 &- 2, as: UInt16.self) == 0x0800
        else { return length }
        let total = Int(frame.loadBigEndian(fromByteOffset: l3 &+ 2, as: UInt16.self))
        return total == 0 ? length : min(length, l3 &+ total)
    }
}

/// Receive state of a ``LinkCapture``, on the heap so its address is stable while the
/// capture moves: the batch's arrays for `recvmmsg`, one region per batch position for a
/// super-frame (or a frame waiting behind one), and the queue of waiting frames.
struct LinkCaptureState {
    /// Frames per `recvmmsg` (the C side's limit).
    static let batch = 64
    /// Bytes from one region to the next: a whole super-frame and a tag.
    static let regionStride = (LinkCapture.superframeCapacity + 63) & ~63

    /// A frame waiting in region `region`: a super-frame to segment, or a finished frame.
    struct Deferred {
        var region: Int
        var superframe: ReceiveOffloads.Superframe?
        var length: Int
    }

    let regions: UnsafeMutableRawPointer
    let headers: UnsafeMutablePointer<nvlb_vnet_header>
    let frames: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let overflows: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let lengths: UnsafeMutablePointer<Int>
    let types: UnsafeMutablePointer<Int32>
    let vlans: UnsafeMutablePointer<UInt32>
    let queue: UnsafeMutablePointer<Deferred>
    let incomingOnly: Bool
    var queueHead = 0
    var queueCount = 0
    /// Segments of the queue's first super-frame already handed out.
    var nextSegment = 0
    var counters = LinkCapture.Counters()
    /// `PACKET_STATISTICS` accumulated (the kernel resets them on every read).
    var received: UInt64 = 0
    var dropped: UInt64 = 0

    init(incomingOnly: Bool) {
        // Address space only: pages are touched by super-frames, not at start.
        regions = .allocate(byteCount: Self.batch * Self.regionStride, alignment: 64)
        headers = .allocate(capacity: Self.batch)
        headers.initialize(repeating: nvlb_vnet_header(), count: Self.batch)
        frames = .allocate(capacity: Self.batch)
        frames.initialize(repeating: nil, count: Self.batch)
        overflows = .allocate(capacity: Self.batch)
        overflows.initialize(repeating: nil, count: Self.batch)
        lengths = .allocate(capacity: Self.batch)
        lengths.initialize(repeating: 0, count: Self.batch)
        types = .allocate(capacity: Self.batch)
        types.initialize(repeating: 0, count: Self.batch)
        vlans = .allocate(capacity: Self.batch)
        vlans.initialize(repeating: 0, count: Self.batch)
        queue = .allocate(capacity: Self.batch)
        self.incomingOnly = incomingOnly
    }

    /// Frees the buffers (the capture's `deinit`).
    func release() {
        regions.deallocate()
        headers.deallocate()
        frames.deallocate()
        overflows.deallocate()
        lengths.deallocate()
        types.deallocate()
        vlans.deallocate()
        queue.deallocate()
    }

    /// Region `index`'s first byte.
    @inline(__always)
    func region(_ index: Int) -> UnsafeMutableRawPointer { regions + index &* Self.regionStride }

    /// Queues a waiting frame (the queue is empty whenever a batch is received, and a batch
    /// queues at most `batch` entries).
    @inline(__always)
    mutating func enqueue(_ entry: Deferred) {
        if queueCount == 0 { queueHead = 0 }
        (queue + (queueHead &+ queueCount)).initialize(to: entry)
        queueCount &+= 1
    }
}
