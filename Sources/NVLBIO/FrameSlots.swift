/// A view of a worker's receive buffers: `count` slots of `slotSize` bytes at `base`, each
/// frame stored `headroom` bytes into its slot (room to prepend the 42-byte NVGRE header in
/// place, docs/architecture.md "The data plane"), with its length in `lengths[i]`.
///
/// Does not own the memory: ``FrameBuffers`` owns one, or the runtime passes memory it
/// allocated on the worker's NUMA node. Slot `i`'s frame is at `frame(i)`; a frame longer
/// than ``frameCapacity`` is truncated to it when received (counted by ``LiveCapture``).
@frozen
public struct FrameSlots: @unchecked Sendable {
    /// The first byte of slot 0.
    public let base: UnsafeMutableRawPointer
    /// Bytes from one slot to the next.
    public let slotSize: Int
    /// Bytes before the frame in each slot.
    public let headroom: Int
    /// Number of slots.
    public let count: Int
    /// Length in bytes of the frame in each slot (`count` entries), written by receives.
    public let lengths: UnsafeMutablePointer<Int>

    /// A view over memory the caller owns and keeps alive while the view is used.
    /// Precondition: `headroom < slotSize`.
    public init(
        base: UnsafeMutableRawPointer, slotSize: Int, headroom: Int, count: Int, lengths: UnsafeMutablePointer<Int>
    ) {
        precondition(headroom >= 0 && headroom < slotSize && count > 0, "FrameSlots: invalid geometry")
        self.base = base
        self.slotSize = slotSize
        self.headroom = headroom
        self.count = count
        self.lengths = lengths
    }

    /// Largest frame a slot holds, in bytes.
    @inlinable public var frameCapacity: Int { slotSize - headroom }

    /// The first byte of slot `index`'s frame (after the headroom).
    @inlinable @inline(__always)
    public func frame(_ index: Int) -> UnsafeMutableRawPointer { base + (index &* slotSize &+ headroom) }

    /// The first byte of slot `index` (where the headroom starts).
    @inlinable @inline(__always)
    public func slot(_ index: Int) -> UnsafeMutableRawPointer { base + index &* slotSize }
}

/// Owner of receive buffers for one worker: `count` slots, 64-byte aligned, zeroed,
/// freed by `deinit`. Non-copyable: one owner, one free.
public struct FrameBuffers: ~Copyable {
    /// The view handed to ``LiveCapture/read(into:startingAt:maxFrames:)`` and the pipeline.
    public let slots: FrameSlots

    /// `count` slots of `slotSize` bytes (default 2,048: a 1,514-byte frame after 64 bytes of
    /// headroom, rounded to a power of two) with `headroom` bytes in front of each frame.
    public init(count: Int, slotSize: Int = 2048, headroom: Int = 64) {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: count * slotSize, alignment: 64)
        memory.initializeMemory(as: UInt8.self, repeating: 0, count: count * slotSize)
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: count)
        lengths.initialize(repeating: 0, count: count)
        slots = FrameSlots(base: memory, slotSize: slotSize, headroom: headroom, count: count, lengths: lengths)
    }

    deinit {
        slots.base.deallocate()
        slots.lengths.deallocate()
    }
}
