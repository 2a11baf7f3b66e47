import CPcap

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// One worker's libpcap capture on a live interface (docs/operations.md "Live I/O"): promiscuous,
/// immediate mode, incoming frames only, non-blocking with ``wait(timeoutMilliseconds:)``
/// (a blocking read never returns on an idle link), optionally joined to a
/// ``PacketFanout`` group so that several workers share the interface by flow.
///
/// ``read(into:startingAt:maxFrames:)`` copies up to N frames per call into the caller's
/// ``FrameSlots`` (after each slot's headroom) with one `pcap_dispatch`: no allocation, no
/// reference counting per frame (the C callback's context is a plain struct reached through
/// libpcap's `user` pointer).
///
/// Non-copyable owner of its `pcap_t` (closed by `deinit`); not thread-safe: one worker
/// thread uses it (it may be opened elsewhere and moved there).
public struct LiveCapture: ~Copyable {
    /// How the capture is opened. The defaults are nvlb's.
    public struct Options: Hashable, Sendable {
        /// Bytes kept of each frame (`pcap_set_snaplen`); longer frames are truncated.
        public var snapshotLength: Int = 2048
        /// Receive frames for every destination MAC: nvlb answers for its own MAC and
        /// addresses, which the kernel's interface does not have.
        public var promiscuous: Bool = true
        /// Deliver frames as they arrive, not per filled ring block.
        public var immediate: Bool = true
        /// Kernel ring size in bytes (`pcap_set_buffer_size`).
        public var bufferBytes: Int = 32 << 20
        /// `pcap_setdirection(PCAP_D_IN)`: do not see the frames nvlb itself sends.
        public var incomingOnly: Bool = true
        /// Join this fanout group after activation (nil: sole reader of the interface).
        public var fanout: PacketFanout? = nil
        /// A BPF filter expression (`tcpdump` syntax), or nil for every frame.
        public var filter: String? = nil

        /// nvlb's defaults, optionally in a fanout group.
        public init(fanout: PacketFanout? = nil) { self.fanout = fanout }
    }

    /// The `pcap_t`, closed by `deinit`.
    private let handle: OpaquePointer
    /// The callback's context: where the next frame goes. Heap-allocated once, so its
    /// address is stable while this non-copyable value moves.
    private let state: UnsafeMutablePointer<CaptureDispatchState>
    /// The interface captured.
    public let interface: String
    /// Warnings from `pcap_activate` (e.g. promiscuous mode not supported), for the log.
    public let warnings: [String]
    /// The descriptor to `poll` for readability (`pcap_get_selectable_fd`).
    public let pollDescriptor: FileDescriptor
    /// The capture's AF_PACKET socket (`pcap_fileno`).
    public let socketDescriptor: FileDescriptor

    /// Opens and activates a capture on `interface`.
    ///
    /// - Throws: ``LiveIOError`` naming the interface: ``LiveIOError/Kind/noSuchDevice`` when
    ///   it does not exist, ``LiveIOError/Kind/permissionDenied`` without `CAP_NET_RAW`,
    ///   ``LiveIOError/Kind/interfaceDown``, or any other libpcap or fanout failure.
    public init(interface: String, options: Options = Options()) throws(LiveIOError) {
        // libpcap checks privileges before the device: look the name up first so that a
        // missing interface is reported as such even without root.
        _ = try Syscalls.interfaceIndex(interface)
        let handle = try LibPcap.create(interface: interface).get()
        func fail(_ kind: LiveIOError.Kind, _ operation: String, _ message: String) -> LiveIOError {
            LibPcap.close(handle)
            return LiveIOError(kind: kind, interface: interface, operation: operation, message: message)
        }
        guard let snaplen = Int32(exactly: options.snapshotLength), snaplen > 0,
            let bufferBytes = Int32(exactly: options.bufferBytes), bufferBytes > 0
        else { throw fail(.other, "pcap_set_snaplen", "invalid snapshot length or buffer size") }
        _ = LibPcap.setSnapshotLength(handle, snaplen)
        _ = LibPcap.setPromiscuous(handle, options.promiscuous)
        _ = LibPcap.setImmediateMode(handle, options.immediate)
        _ = LibPcap.setBufferSize(handle, bufferBytes)
        _ = LibPcap.setTimeout(handle, 1)

        var warnings: [String] = []
        let status = LibPcap.activate(handle)
        if status < 0 {
            let text = LibPcap.lastError(handle)
            let message = text.isEmpty ? LibPcap.statusText(status) : text
            let kind: LiveIOError.Kind =
                switch status {
                case PCAP_ERROR_NO_SUCH_DEVICE: .noSuchDevice
                case PCAP_ERROR_PERM_DENIED, PCAP_ERROR_PROMISC_PERM_DENIED: .permissionDenied
                case PCAP_ERROR_IFACE_NOT_UP: .interfaceDown
                default: .other
                }
            throw fail(kind, "pcap_activate", message)
        } else if status > 0 {
            let text = LibPcap.lastError(handle)
            warnings.append(LibPcap.statusText(status) + (text.isEmpty ? "" : ": \(text)"))
        }
        if options.incomingOnly, LibPcap.setDirectionIn(handle) != 0 {
            throw fail(.other, "pcap_setdirection", LibPcap.lastError(handle))
        }
        if let filter = options.filter {
            let (result, message) = LibPcap.setFilter(handle, filter)
            if result != 0 { throw fail(.other, "pcap_setfilter(\(filter))", message) }
        }
        let (nonblock, nonblockMessage) = LibPcap.setNonblocking(handle, true)
        if nonblock != 0 { throw fail(.other, "pcap_setnonblock", nonblockMessage) }
        guard let pollDescriptor = LibPcap.selectableDescriptor(handle) else {
            throw fail(.other, "pcap_get_selectable_fd", "no selectable descriptor")
        }
        guard let socketDescriptor = LibPcap.descriptor(handle) else {
            throw fail(.other, "pcap_fileno", "no socket descriptor")
        }
        if let fanout = options.fanout, let error = Syscalls.joinFanout(socketDescriptor, fanout) {
            throw fail(
                error.liveKind, "setsockopt(PACKET_FANOUT, group \(fanout.groupID), \(fanout.mode))",
                error.description)
        }

        self.handle = handle
        self.interface = interface
        self.warnings = warnings
        self.pollDescriptor = pollDescriptor
        self.socketDescriptor = socketDescriptor
        state = .allocate(capacity: 1)
        state.initialize(to: CaptureDispatchState())
    }

    deinit {
        LibPcap.close(handle)
        state.deinitialize(count: 1)
        state.deallocate()
    }

    /// Waits until a frame may be read, at most `timeoutMilliseconds` (0: just check).
    /// Returns false on timeout or when interrupted by a signal.
    ///
    /// - Throws: ``LiveIOError`` when `poll` fails.
    public func wait(timeoutMilliseconds: Int32) throws(LiveIOError) -> Bool {
        try Syscalls.poll(pollDescriptor, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
            .get(interface: interface, operation: "poll")
    }

    /// Copies up to `maxFrames` waiting frames into `slots`, the first into slot
    /// `startingAt`, and returns how many were copied (0 when none was waiting: never
    /// blocks). Each frame goes to `slots.frame(i)`, its length to `slots.lengths[i]`; a
    /// frame longer than `slots.frameCapacity` is truncated (``truncatedFrames``).
    ///
    /// Cost: one `pcap_dispatch` call and one copy per frame; no allocation.
    ///
    /// - Throws: ``LiveIOError`` when libpcap reports an error (e.g. the interface went away).
    @inline(__always)
    public func read(into slots: FrameSlots, startingAt start: Int = 0, maxFrames: Int) throws(LiveIOError) -> Int {
        let limit = min(slots.count, start + maxFrames)
        guard start < limit else { return 0 }
        state.pointee.slots = slots
        state.pointee.next = start
        state.pointee.limit = limit
        let result = LibPcap.dispatch(
            handle, count: Int32(truncatingIfNeeded: limit - start), callback: liveCaptureCopyFrame,
            user: UnsafeMutableRawPointer(state).assumingMemoryBound(to: UInt8.self))
        if result < 0 {
            throw LiveIOError(
                kind: .other, interface: interface, operation: "pcap_dispatch", message: LibPcap.lastError(handle))
        }
        return state.pointee.next - start
    }

    /// ``wait(timeoutMilliseconds:)`` then ``read(into:startingAt:maxFrames:)`` when frames
    /// are ready: the worker's receive step. Tries a read first, so a busy link costs no
    /// `poll` call.
    public func receive(
        into slots: FrameSlots, startingAt start: Int = 0, maxFrames: Int, timeoutMilliseconds: Int32
    ) throws(LiveIOError) -> Int {
        let count = try read(into: slots, startingAt: start, maxFrames: maxFrames)
        if count > 0 || timeoutMilliseconds == 0 { return count }
        guard try wait(timeoutMilliseconds: timeoutMilliseconds) else { return 0 }
        return try read(into: slots, startingAt: start, maxFrames: maxFrames)
    }

    /// Frames truncated to a slot's capacity or the snapshot length since the capture opened.
    public var truncatedFrames: Int { state.pointee.truncated }

    /// libpcap's counters (`pcap_stats`): frames the kernel passed the filter, frames it
    /// dropped because the ring was full, frames the interface dropped; nil if unsupported.
    public func statistics() -> LiveCaptureStatistics? {
        guard let stats = LibPcap.statistics(handle) else { return nil }
        return LiveCaptureStatistics(
            received: UInt64(stats.received), droppedByKernel: UInt64(stats.dropped),
            droppedByInterface: UInt64(stats.interfaceDropped))
    }
}

/// Counters of a ``LiveCapture`` from `pcap_stats` (32-bit in the kernel: they wrap).
public struct LiveCaptureStatistics: Hashable, Sendable {
    /// Frames that passed the filter (`ps_recv`).
    public var received: UInt64
    /// Frames dropped because the ring was full (`ps_drop`): the worker is too slow.
    public var droppedByKernel: UInt64
    /// Frames dropped by the interface (`ps_ifdrop`).
    public var droppedByInterface: UInt64
}

/// The `pcap_dispatch` callback's context: the destination slots and progress.
struct CaptureDispatchState {
    var slots: FrameSlots? = nil
    var next = 0
    var limit = 0
    var truncated = 0
}

/// `pcap_handler` for ``LiveCapture/read(into:startingAt:maxFrames:)``: copies one frame
/// into the next slot. Must not capture context (it is a C function pointer).
private func liveCaptureCopyFrame(
    user: UnsafeMutablePointer<UInt8>?, header: UnsafePointer<pcap_pkthdr>?, bytes: UnsafePointer<UInt8>?
) {
    guard let user, let header, let bytes else { return }
    let state = UnsafeMutableRawPointer(user).assumingMemoryBound(to: CaptureDispatchState.self)
    guard state.pointee.next < state.pointee.limit, let slots = state.pointee.slots else { return }
    let index = state.pointee.next
    var length = Int(header.pointee.caplen)
    if length > slots.frameCapacity || length < Int(header.pointee.len) {
        state.pointee.truncated &+= 1
        length = min(length, slots.frameCapacity)
    }
    slots.frame(index).copyMemory(from: bytes, byteCount: length)
    slots.lengths[index] = length
    state.pointee.next = index &+ 1
}
