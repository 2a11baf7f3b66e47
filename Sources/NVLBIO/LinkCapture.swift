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
/// ``read(into:startingAt:maxFrames:)`` fills ``FrameSlots`` with one `recvmsg` per
/// received frame, no allocation. Frames from a sender without offloads cost nothing more
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
        state.initialize(to: LinkCaptureState(capacity: Self.superframeCapacity, incomingOnly: options.incomingOnly))
    }

    deinit {
        Syscalls.close(socketDescriptor)
        state.pointee.buffer.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Waits until a frame may be read, at most `timeoutMilliseconds` (0: just check).
    /// Returns false on timeout or when interrupted by a signal, and true at once while
    /// segments of a super-frame remain.
    ///
    /// - Throws: ``LiveIOError`` when `poll` fails.
    public func wait(timeoutMilliseconds: Int32) throws(LiveIOError) -> Bool {
        if state.pointee.pending != nil { return true }
        return try Syscalls.poll(socketDescriptor, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
            .get(interface: interface, operation: "poll")
    }

    /// Receives up to `maxFrames` frames into `slots`, the first into slot `startingAt`,
    /// and returns how many (0 when none was waiting: never blocks). Every frame written has
    /// complete checksums and, when it came from a super-frame, the sender's segment size.
    ///
    /// - Throws: ``LiveIOError`` when the kernel reports an error (the interface went away).
    public func read(into slots: FrameSlots, startingAt start: Int = 0, maxFrames: Int) throws(LiveIOError) -> Int {
        let limit = min(slots.count, start &+ maxFrames)
        var next = start
        let s = state
        let capacity = min(slots.frameCapacity, snapshotLength)
        // Segments left over from the last call first: they arrived before anything queued.
        next = emitSegments(into: slots, at: next, limit: limit)
        var header = nvlb_vnet_header()
        var packetType: Int32 = 0
        var vlan: UInt32 = 0
        while next < limit {
            let frame = slots.frame(next)
            // Room for a VLAN tag to be put back: the frame is received 4 bytes short of
            // the slot. The overflow lands in the super-frame buffer right after the part
            // the slot holds, so a super-frame is whole there once that part is copied.
            let room = capacity &- 4
            let result = nvlb_packet_receive_vnet(
                socketDescriptor.rawValue, &header, frame, room, s.pointee.buffer + room,
                Self.superframeCapacity &- 4 &- room, &packetType, &vlan)
            if result < 0 {
                let error = Errno(Int32(truncatingIfNeeded: -result))
                if error == .wouldBlock { break }
                if error == .interrupted { continue }
                // The kernel refuses to describe a super-frame of a kind virtio_net_hdr has
                // no name for (e.g. GRE-encapsulated GSO) and drops it.
                if error == .invalidArgument {
                    s.pointee.counters.unsupportedSuperframes &+= 1
                    continue
                }
                throw LiveIOError(error, interface: interface, operation: "recvmsg")
            }
            if s.pointee.incomingOnly, packetType == Int32(NVLB_PACKET_OUTGOING) { continue }
            var length = result
            let gsoType = Int32(header.gso_type & ~UInt8(NVLB_VNET_GSO_ECN))
            if gsoType != Int32(NVLB_VNET_GSO_NONE) {
                guard length <= Self.superframeCapacity &- 4 else {
                    s.pointee.counters.truncated &+= 1
                    continue
                }
                let base = s.pointee.buffer
                base.copyMemory(from: frame, byteCount: min(length, room))
                if vlan != 0 {
                    Self.insertTag(vlan, at: base, frameLength: length)
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
                guard let geometry, geometry.maximumSegmentLength <= slots.frameCapacity else {
                    s.pointee.counters.unsupportedSuperframes &+= 1
                    continue
                }
                s.pointee.counters.superframes &+= 1
                s.pointee.pending = geometry
                s.pointee.pendingBase = base
                s.pointee.nextSegment = 0
                next = emitSegments(into: slots, at: next, limit: limit)
                continue
            }
            if length > room {
                s.pointee.counters.truncated &+= 1
                length = room
            }
            var checksumStart = Int(header.csum_start)
            if vlan != 0 {
                Self.insertTag(vlan, at: frame, frameLength: length)
                length &+= 4
                checksumStart &+= 4
                s.pointee.counters.vlanTagsRestored &+= 1
            }
            if header.flags & UInt8(NVLB_VNET_NEEDS_CSUM) != 0 {
                let end = Self.packetEnd(frame, length: length)
                if ReceiveOffloads.completeChecksum(
                    frame, length: end, start: checksumStart, offset: Int(header.csum_offset))
                {
                    s.pointee.counters.checksumsCompleted &+= 1
                }
            }
            slots.lengths[next] = length
            next &+= 1
        }
        return next &- start
    }

    /// Writes segments of the pending super-frame into slots `next ..< limit`; returns the
    /// next free slot.
    @inline(__always)
    private func emitSegments(into slots: FrameSlots, at start: Int, limit: Int) -> Int {
        guard let geometry = state.pointee.pending else { return start }
        var next = start
        let base = UnsafeRawPointer(state.pointee.pendingBase)
        var segment = state.pointee.nextSegment
        while next < limit, segment < geometry.segmentCount {
            slots.lengths[next] = ReceiveOffloads.writeSegment(
                segment, of: geometry, from: base, into: slots.frame(next))
            segment &+= 1
            next &+= 1
        }
        state.pointee.counters.segments &+= UInt64(next &- start)
        if segment == geometry.segmentCount {
            state.pointee.pending = nil
        } else {
            state.pointee.nextSegment = segment
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
/// capture moves.
struct LinkCaptureState {
    /// The super-frame buffer: `superframeCapacity` bytes.
    let buffer: UnsafeMutableRawPointer
    let incomingOnly: Bool
    /// The super-frame being segmented, if any, and where it starts in `buffer`.
    var pending: ReceiveOffloads.Superframe? = nil
    var pendingBase: UnsafeMutableRawPointer
    var nextSegment = 0
    var counters = LinkCapture.Counters()
    /// `PACKET_STATISTICS` accumulated (the kernel resets them on every read).
    var received: UInt64 = 0
    var dropped: UInt64 = 0

    init(capacity: Int, incomingOnly: Bool) {
        buffer = .allocate(byteCount: capacity, alignment: 64)
        pendingBase = buffer
        self.incomingOnly = incomingOnly
    }
}
