import CNVLBXDP

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// The UMEM of the af_xdp backend (docs/afxdp.md): one area of equal frames, registered
/// once and shared by every AF_XDP socket of the process, so that a frame received on one
/// interface can leave by another without a copy. Its free frames are a pool; each
/// (interface, queue) has a fill ring (frames lent to the kernel for receiving) and a
/// completion ring (frames the kernel has sent), shared by the sockets of that queue and
/// serviced under a lock once per worker pass (``service(give:giveCount:take:want:)``).
///
/// A frame's data starts at least 256 bytes (XDP's headroom) after the frame's start, so
/// the data plane encapsulates in place (`Packet.headroom` is 64).
public final class AFXDPUMEM: @unchecked Sendable {
    /// Bytes per frame (4,096: frames up to 3,840 bytes are received whole).
    public let frameSize: Int
    /// Number of frames.
    public let frameCount: Int
    /// Entries of every fill, completion, receive and transmit ring.
    public let ringSize: Int
    /// The first byte of the area.
    public let area: UnsafeMutableRawPointer
    let handle: OpaquePointer

    /// Registers an area of `frameCount` frames of `frameSize` bytes.
    ///
    /// - Throws: ``LiveIOError`` with the kernel's error (e.g. locked-memory limits).
    public init(frameCount: Int, frameSize: Int = 4096, ringSize: Int = 2048) throws(LiveIOError) {
        var pointer: OpaquePointer? = nil
        let result = nvlb_xsk_umem_create(UInt32(frameCount), UInt32(frameSize), UInt32(ringSize), &pointer)
        guard result == 0, let pointer else {
            throw LiveIOError(Errno(-result), interface: "-", operation: "xsk_umem__create")
        }
        handle = pointer
        area = nvlb_xsk_umem_area(pointer)!
        self.frameSize = frameSize
        self.frameCount = frameCount
        self.ringSize = ringSize
    }

    deinit { nvlb_xsk_umem_delete(handle) }

    /// The frames a process with `sockets` sockets over `queues` (interface, queue) pairs
    /// needs so that no ring ever waits for a frame: every fill and completion ring full,
    /// every receive and transmit ring full, plus `spare` frames per socket.
    public static func frameCount(sockets: Int, queues: Int, ringSize: Int = 2048, spare: Int = 256) -> Int {
        queues * 2 * ringSize + sockets * (2 * ringSize + spare)
    }

    /// Once per worker pass: frames the worker is done with (`give`, any address within a
    /// frame) go back to the pool, every completion ring is drained into it, every fill
    /// ring is topped up, and up to `want` free frames (their base addresses) are written
    /// to `take`. Returns how many were taken.
    @inline(__always)
    public func service(
        give: UnsafePointer<UInt64>, giveCount: Int, take: UnsafeMutablePointer<UInt64>, want: Int
    ) -> Int {
        Int(nvlb_xsk_umem_service(handle, give, UInt32(giveCount), take, UInt32(want)))
    }

    /// The frame holding UMEM address `address` (its base address).
    @inline(__always)
    public func frameBase(_ address: UInt64) -> UInt64 { address & ~UInt64(frameSize &- 1) }

    /// Whether `pointer` lies in the area (a frame of this UMEM).
    @inline(__always)
    public func contains(_ pointer: UnsafeRawPointer) -> Bool {
        pointer >= UnsafeRawPointer(area) && pointer < UnsafeRawPointer(area + frameCount &* frameSize)
    }
}

/// One AF_XDP socket bound to (interface, receive queue) over an ``AFXDPUMEM``
/// (docs/afxdp.md): its own receive and transmit rings, batched. Opened without an XDP
/// program of its own: nvlb's (``AFXDPProgram``) redirects to it. Copy mode on drivers
/// without zero-copy (veth), zero-copy where the driver has it.
///
/// Used by one worker thread; closed by `deinit`.
public final class AFXDPSocket: @unchecked Sendable {
    /// Kernel statistics of the socket.
    public struct Statistics: Sendable, Equatable {
        /// Frames dropped by the kernel: no room in a UMEM frame (longer than the frame), or
        /// the receive ring full.
        public var receiveDropped: UInt64 = 0
        /// The receive ring was full.
        public var receiveRingFull: UInt64 = 0
        /// The fill ring was empty when a frame arrived.
        public var fillRingEmpty: UInt64 = 0
        /// Invalid transmit descriptors.
        public var invalidTransmitDescriptors: UInt64 = 0
        /// All zero.
        public init() {}
    }

    /// The interface.
    public let interface: String
    /// The receive queue.
    public let queue: Int
    /// The UMEM the socket shares.
    public let umem: AFXDPUMEM
    let handle: OpaquePointer

    /// Opens the socket on (`interface`, `queue`). `copy` forces copy mode.
    ///
    /// - Throws: ``LiveIOError`` naming the interface.
    public init(umem: AFXDPUMEM, interface: String, queue: Int, copy: Bool = false) throws(LiveIOError) {
        var pointer: OpaquePointer? = nil
        let result = nvlb_xsk_create(umem.handle, interface, UInt32(queue), copy ? 1 : 0, &pointer)
        guard result == 0, let pointer else {
            throw LiveIOError(Errno(-result), interface: interface, operation: "xsk_socket__create(queue \(queue))")
        }
        self.interface = interface
        self.queue = queue
        self.umem = umem
        handle = pointer
    }

    deinit { nvlb_xsk_delete(handle) }

    /// The socket's descriptor.
    public var descriptor: FileDescriptor { FileDescriptor(rawValue: nvlb_xsk_fd(handle)) }

    /// True in zero-copy mode, false in copy mode.
    public var isZeroCopy: Bool { nvlb_xsk_zero_copy(handle) == 1 }

    /// Up to `max` received frames: UMEM addresses of their first byte, and lengths.
    @inline(__always)
    public func receive(addresses: UnsafeMutablePointer<UInt64>, lengths: UnsafeMutablePointer<UInt32>, max: Int)
        -> Int
    {
        Int(nvlb_xsk_receive(handle, addresses, lengths, UInt32(max)))
    }

    /// Queues `count` frames for sending and wakes the kernel; returns how many fit on the
    /// transmit ring (the others remain the caller's).
    @inline(__always)
    public func transmit(addresses: UnsafePointer<UInt64>, lengths: UnsafePointer<UInt32>, count: Int) -> Int {
        Int(nvlb_xsk_transmit(handle, addresses, lengths, UInt32(count)))
    }

    /// Waits until a frame may be received, at most `timeoutMilliseconds`.
    public func wait(timeoutMilliseconds: Int32) {
        _ = Syscalls.poll(descriptor, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
    }

    /// The kernel's statistics of the socket.
    public func statistics() -> Statistics {
        var raw = nvlb_xsk_statistics()
        var s = Statistics()
        guard nvlb_xsk_get_statistics(handle, &raw) == 0 else { return s }
        s.receiveDropped = raw.rx_dropped
        s.receiveRingFull = raw.rx_ring_full
        s.fillRingEmpty = raw.rx_fill_ring_empty_descs
        s.invalidTransmitDescriptors = raw.tx_invalid_descs
        return s
    }
}
