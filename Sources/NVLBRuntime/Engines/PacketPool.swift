import NVLBDataplane

/// Fixed-size frame buffers, allocated once: slot `i` is `slotSize` bytes at
/// `base + i * slotSize`; a frame is received at `Packet.headroom` into its slot.
/// Slots are handed out and returned by one thread (the reader/writer); workers
/// only touch the slots of descriptors they hold.
public final class PacketPool: @unchecked Sendable {
    /// Bytes per slot, headroom included.
    public let slotSize: Int
    public let slotCount: Int
    public let base: UnsafeMutableRawPointer
    private var free: [UInt32]

    /// Largest frame a slot holds.
    public var frameCapacity: Int { slotSize - Packet.headroom }

    public init(slotCount: Int, frameCapacity: Int) {
        slotSize = (Packet.headroom + frameCapacity + 63) & ~63
        self.slotCount = slotCount
        base = .allocate(byteCount: slotSize * slotCount, alignment: 64)
        free = (0..<UInt32(slotCount)).reversed()
    }

    deinit { base.deallocate() }

    /// The start of slot `slot`.
    @inlinable @inline(__always)
    public func pointer(_ slot: UInt32) -> UnsafeMutableRawPointer { base + Int(slot) &* slotSize }

    /// A free slot, or nil when every slot is in flight.
    public func take() -> UInt32? { free.popLast() }

    /// Returns a slot.
    public func give(_ slot: UInt32) { free.append(slot) }

    /// Number of free slots.
    public var available: Int { free.count }
}
