import NVLBDataplane

/// Frames one worker received for flows another worker owns (docs/architecture.md "Steering and hand-offs"): an SPSC ring
/// of descriptors plus the frame bytes, copied into cells that belong to the ring.
///
/// The producer copies a frame into cell `sequence % cellCount` (behind
/// `Packet.headroom` bytes, so the owner can encapsulate in place) and enqueues the
/// sequence. The ring holds at most `capacity` undelivered frames and the consumer
/// holds at most `batch` frames it has dequeued but not yet sent, so with
/// `cellCount = capacity + batch` a cell is never reused while its frame is in use.
/// No locks, no allocation after `init`. One producer thread, one consumer thread.
public final class FrameHandoff: @unchecked Sendable {
    /// A frame in a cell.
    @frozen
    public struct Descriptor: BitwiseCopyable, Sendable {
        public var sequence: UInt64
        public var length: Int32
    }

    let ring: SPSCRing<Descriptor>
    let cells: UnsafeMutableRawPointer
    let cellCount: Int
    /// Bytes per cell, headroom included.
    public let cellSize: Int
    /// Producer-only: the next sequence number.
    var produced: UInt64 = 0

    /// - Parameters:
    ///   - capacity: frames waiting for the consumer (power of two).
    ///   - batch: the most frames the consumer dequeues before it sends them.
    ///   - frameCapacity: the largest frame handed over.
    public init(capacity: Int, batch: Int, frameCapacity: Int) {
        ring = SPSCRing(capacity: capacity)
        cellCount = ring.capacity + batch
        cellSize = (Packet.headroom + frameCapacity + 63) & ~63
        cells = .allocate(byteCount: cellCount * cellSize, alignment: 64)
    }

    deinit { cells.deallocate() }

    /// Producer: copies the frame and queues it. False when the consumer is `capacity`
    /// frames behind (the caller then finishes the frame itself).
    @inline(__always)
    public func send(_ frame: UnsafeRawPointer, length: Int) -> Bool {
        guard length <= cellSize - Packet.headroom else { return false }
        let sequence = produced
        (cells + Int(sequence % UInt64(cellCount)) &* cellSize + Packet.headroom).copyMemory(
            from: frame, byteCount: length)
        guard ring.enqueue(Descriptor(sequence: sequence, length: Int32(length))) else { return false }
        produced &+= 1
        return true
    }

    /// Consumer: up to `max` (≤ batch) descriptors; their frames stay valid until the
    /// consumer's next `receive`.
    @inline(__always)
    public func receive(into buffer: UnsafeMutablePointer<Descriptor>, max: Int) -> Int {
        ring.dequeue(into: UnsafeMutableBufferPointer(start: buffer, count: max))
    }

    /// Consumer: up to `max` (≤ batch) frames as packets (each in its cell, behind
    /// `Packet.headroom`), using `descriptors` (room for `max`) as scratch; the frames stay
    /// valid until the consumer's next `receive`.
    @inline(__always)
    public func receive(
        into packets: UnsafeMutablePointer<Packet>, descriptors: UnsafeMutablePointer<Descriptor>, max: Int
    ) -> Int {
        let n = receive(into: descriptors, max: max)
        for i in 0..<n {
            packets[i] = Packet(base: cell(descriptors[i]), start: Packet.headroom, length: Int(descriptors[i].length))
        }
        return n
    }

    /// The cell (start of its headroom) of a received descriptor.
    @inline(__always)
    public func cell(_ descriptor: Descriptor) -> UnsafeMutableRawPointer {
        cells + Int(descriptor.sequence % UInt64(cellCount)) &* cellSize
    }
}
