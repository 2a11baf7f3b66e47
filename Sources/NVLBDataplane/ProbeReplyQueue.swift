import Synchronization

/// A lock-free single-producer/single-consumer queue of frames from one worker (the
/// producer, which recognised them as health probe replies) to the prober (the
/// consumer): docs/health.md.
///
/// Fixed slots allocated once; `enqueue` copies a frame into the next free slot and
/// publishes it with one release store, so the worker neither locks nor allocates. A
/// frame longer than a slot keeps its first `slotSize` bytes (a probe reads only the
/// TCP header and the HTTP status line). When the prober lags, frames are dropped and
/// counted in `overflows`: a lost reply is a probe timeout, never a stalled worker.
public final class ProbeReplyQueue: @unchecked Sendable {
    /// Bytes kept of each frame: an MTU-size frame with its NVGRE header fits.
    public static let slotSize = 2048
    /// Number of slots (a power of two).
    public let capacity: Int
    private let storage: UnsafeMutableRawPointer
    private let lengths: UnsafeMutablePointer<Int>
    /// Next slot to read; written by the consumer.
    private let head = Atomic<Int>(0)
    /// Next slot to write; written by the producer.
    private let tail = Atomic<Int>(0)
    private let dropped = Atomic<UInt64>(0)

    /// A queue of `capacity` slots, rounded up to a power of two.
    public init(capacity: Int = 256) {
        var size = 1
        while size < max(capacity, 2) { size <<= 1 }
        self.capacity = size
        storage = .allocate(byteCount: size * Self.slotSize, alignment: 64)
        lengths = .allocate(capacity: size)
        lengths.initialize(repeating: 0, count: size)
    }

    deinit {
        storage.deallocate()
        lengths.deallocate()
    }

    /// Frames dropped because the queue was full.
    public var overflows: UInt64 { dropped.load(ordering: .relaxed) }

    /// Producer: copies `length` bytes at `bytes` into the queue. False (and counted) when full.
    public func enqueue(_ bytes: UnsafeRawPointer, length: Int) -> Bool {
        let t = tail.load(ordering: .relaxed)
        if t &- head.load(ordering: .acquiring) >= capacity {
            dropped.add(1, ordering: .relaxed)
            return false
        }
        let slot = t & (capacity &- 1)
        let kept = min(length, Self.slotSize)
        (storage + slot &* Self.slotSize).copyMemory(from: bytes, byteCount: kept)
        lengths[slot] = kept
        tail.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Consumer: the next frame as a byte array, or nil when the queue is empty.
    public func dequeue() -> [UInt8]? {
        let h = head.load(ordering: .relaxed)
        guard h != tail.load(ordering: .acquiring) else { return nil }
        let slot = h & (capacity &- 1)
        let frame = [UInt8](
            UnsafeRawBufferPointer(start: storage + slot &* Self.slotSize, count: lengths[slot]))
        head.store(h &+ 1, ordering: .releasing)
        return frame
    }
}
