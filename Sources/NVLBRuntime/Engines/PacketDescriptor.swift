import NVLBDataplane

/// A frame in flight between the reader, the workers and the writer of the replay
/// engine: which pool slot holds it, where the frame is, and (once processed) its
/// verdict. Plain bits, passed through SPSC rings.
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
    /// What became of the frame; meaningful once a worker completed it.
    public var verdict: Verdict
    /// Fragments sent after the frame (`Verdict.forwardFragments`), stored in the slot
    /// behind it, each as a 16-bit length (host order) and the frame.
    public var extraFrames: UInt16 = 0

    @inlinable
    public init(sequence: UInt64, slot: UInt32, start: Int32, length: Int32, now: UInt32) {
        self.sequence = sequence
        self.slot = slot
        self.start = start
        self.length = length
        self.now = now
        verdict = .drop(.malformed)
    }

    /// Records a verdict and the frame's new position.
    @inlinable @inline(__always)
    public mutating func complete(_ verdict: Verdict, packet: Packet) {
        start = Int32(truncatingIfNeeded: packet.start)
        length = Int32(truncatingIfNeeded: packet.length)
        self.verdict = verdict
    }

    /// True when the frame is to be sent.
    @inlinable public var isSent: Bool { verdict.egress != nil }
}
