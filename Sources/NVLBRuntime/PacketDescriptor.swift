import NVLBDataplane

/// A frame in flight between the reader, the workers and the writer: which pool
/// slot holds it, where the frame is, and (once processed) its outcome. Plain
/// bits, passed through SPSC rings.
@frozen
public struct PacketDescriptor: BitwiseCopyable, Sendable {
    /// Position in the input (the writer restores input order with it).
    public var sequence: UInt64
    /// Pool slot holding the frame.
    public var slot: UInt32
    /// Frame start within the slot.
    public var start: Int32
    public var length: Int32
    /// Flow clock (seconds) for this frame.
    public var now: UInt32
    /// `Outcome` raw value.
    public var outcome: UInt8
    /// Fragments sent after the frame (`Verdict.forwardFragments`), stored in the slot
    /// behind it, each as a 16-bit length (host order) and the frame.
    public var extraFrames: UInt16 = 0

    /// What became of a frame.
    public enum Outcome: UInt8, Sendable {
        case pending, forwardUnderlay, forwardExternal, answerUnderlay, answerExternal, dropped
        /// Handled by nvlb, nothing to send (a probe reply).
        case consumed
    }

    @inlinable
    public init(sequence: UInt64, slot: UInt32, start: Int32, length: Int32, now: UInt32) {
        self.sequence = sequence
        self.slot = slot
        self.start = start
        self.length = length
        self.now = now
        outcome = Outcome.pending.rawValue
    }

    /// Records a verdict and the frame's new position.
    @inlinable @inline(__always)
    public mutating func complete(_ verdict: Verdict, packet: Packet) {
        start = Int32(truncatingIfNeeded: packet.start)
        length = Int32(truncatingIfNeeded: packet.length)
        switch verdict {
        case .forward(.underlay), .forwardFragments(.underlay, _, _): outcome = Outcome.forwardUnderlay.rawValue
        case .forward(.external), .forwardFragments(.external, _, _): outcome = Outcome.forwardExternal.rawValue
        case .answer(.underlay): outcome = Outcome.answerUnderlay.rawValue
        case .answer(.external): outcome = Outcome.answerExternal.rawValue
        case .drop: outcome = Outcome.dropped.rawValue
        case .consumed: outcome = Outcome.consumed.rawValue
        }
    }

    /// True when the frame is to be sent.
    @inlinable public var isSent: Bool {
        outcome != Outcome.dropped.rawValue && outcome != Outcome.pending.rawValue
            && outcome != Outcome.consumed.rawValue
    }
}

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
