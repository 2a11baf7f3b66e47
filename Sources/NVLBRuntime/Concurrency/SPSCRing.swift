import Synchronization

/// A bounded, lock-free, single-producer/single-consumer FIFO of fixed-size elements: the
/// handoff of packet descriptors from the worker that received a packet to the worker
/// that owns its flow (docs/architecture.md "Steering and hand-offs").
///
/// **Contract.** At any time at most one thread enqueues (the producer) and at most one
/// thread dequeues (the consumer); they may be different threads and run concurrently.
/// Producer-side members: ``enqueue(_:)``, ``enqueue(contentsOf:)``. Consumer-side
/// members: ``dequeue()``, ``dequeue(into:max:)``. Calling a side's members from two
/// threads at once is a data race (not detected). ``count`` and ``capacity`` may be read
/// from any thread. Handing a side over to another thread needs a happens-before edge
/// (a thread join, a lock).
///
/// **Design.** Capacity is a power of two; head (next to read) and tail (next to write)
/// are free-running `Int` counters masked into the storage. Each is an `Atomic<Int>` on
/// its own 128-byte block (two cache lines, which also defeats the adjacent-line
/// prefetcher), together with its owner's cached copy of the other counter, so that the
/// producer reads the consumer's line only when its cached view says the ring is full,
/// and the consumer reads the producer's line only when its cached view says it has too
/// few elements. Publication is release (store of tail/head) / acquire (load of the other
/// side's counter). Storage is allocated once in `init`: enqueue and dequeue never
/// allocate, lock or call into the OS. Batch operations cost O(n) copies plus at most
/// one cross-core read and one release store per batch.
///
/// `Element` is `BitwiseCopyable` (e.g. a descriptor struct of a buffer index and a
/// length; a public struct must declare the conformance): elements are moved with
/// `memcpy`, never retained or destroyed.
public final class SPSCRing<Element: BitwiseCopyable>: @unchecked Sendable {
    /// The number of elements the ring holds when full: a power of two.
    public let capacity: Int
    @usableFromInline let mask: Int
    @usableFromInline let storage: UnsafeMutablePointer<Element>
    /// Two 128-byte blocks: [producer: tail, cachedHead] [consumer: head, cachedTail].
    @usableFromInline let control: UnsafeMutableRawPointer

    @usableFromInline static var blockSize: Int { 128 }

    /// The producer's counter: elements written so far. Written by the producer only.
    @usableFromInline var tail: UnsafeMutablePointer<Atomic<Int>> {
        control.assumingMemoryBound(to: Atomic<Int>.self)
    }
    /// The producer's last view of ``head``. Producer-private.
    @usableFromInline var cachedHead: UnsafeMutablePointer<Int> {
        (control + MemoryLayout<Atomic<Int>>.stride).assumingMemoryBound(to: Int.self)
    }
    /// The consumer's counter: elements read so far. Written by the consumer only.
    @usableFromInline var head: UnsafeMutablePointer<Atomic<Int>> {
        (control + Self.blockSize).assumingMemoryBound(to: Atomic<Int>.self)
    }
    /// The consumer's last view of ``tail``. Consumer-private.
    @usableFromInline var cachedTail: UnsafeMutablePointer<Int> {
        (control + Self.blockSize + MemoryLayout<Atomic<Int>>.stride).assumingMemoryBound(to: Int.self)
    }

    /// Creates an empty ring.
    /// - Parameter capacity: the minimum number of elements; rounded up to a power of two
    ///   (≥ 2). Memory: `capacity × MemoryLayout<Element>.stride` + 256 bytes, allocated
    ///   here once (use the rounded ``capacity`` to size related arrays).
    public init(capacity: Int) {
        precondition(capacity >= 1 && capacity <= 1 << 40, "SPSCRing capacity out of range")
        var rounded = 2
        while rounded < capacity { rounded <<= 1 }
        self.capacity = rounded
        self.mask = rounded - 1
        let storage = UnsafeMutableRawPointer.allocate(
            byteCount: rounded * MemoryLayout<Element>.stride,
            alignment: max(Self.blockSize, MemoryLayout<Element>.alignment))
        self.storage = storage.bindMemory(to: Element.self, capacity: rounded)
        self.control = .allocate(byteCount: 2 * Self.blockSize, alignment: Self.blockSize)
        control.initializeMemory(as: UInt8.self, repeating: 0, count: 2 * Self.blockSize)
        tail.initialize(to: Atomic(0))
        cachedHead.initialize(to: 0)
        head.initialize(to: Atomic(0))
        cachedTail.initialize(to: 0)
    }

    deinit {
        tail.deinitialize(count: 1)
        head.deinitialize(count: 1)
        control.deallocate()
        UnsafeMutableRawPointer(storage).deallocate()
    }

    /// The number of elements in the ring at some instant during the call: exact when
    /// called by the producer or consumer while the other side is idle, approximate
    /// otherwise. Any thread. O(1), two atomic loads.
    public var count: Int {
        let h = head.pointee.load(ordering: .acquiring)
        let t = tail.pointee.load(ordering: .acquiring)
        return max(0, min(t &- h, capacity))
    }

    /// Whether ``count`` is 0 (same caveats).
    public var isEmpty: Bool { count == 0 }

    // MARK: Producer

    /// Producer: appends one element. Returns `false`, leaving the ring unchanged, when
    /// it is full (the caller counts the drop). O(1).
    @inlinable
    @inline(__always)
    public func enqueue(_ element: Element) -> Bool {
        let t = tail.pointee.load(ordering: .relaxed)
        if t &- cachedHead.pointee == capacity {
            cachedHead.pointee = head.pointee.load(ordering: .acquiring)
            if t &- cachedHead.pointee == capacity { return false }
        }
        storage[t & mask] = element
        tail.pointee.store(t &+ 1, ordering: .releasing)
        return true
    }

    /// Producer: appends as many leading elements of `elements` as fit, in order, and
    /// makes them visible to the consumer at once. Returns how many were taken (0 when
    /// full); the caller handles the rest. O(n).
    @inlinable
    public func enqueue(contentsOf elements: UnsafeBufferPointer<Element>) -> Int {
        guard let source = elements.baseAddress, !elements.isEmpty else { return 0 }
        let t = tail.pointee.load(ordering: .relaxed)
        var free = capacity &- (t &- cachedHead.pointee)
        if free < elements.count {
            cachedHead.pointee = head.pointee.load(ordering: .acquiring)
            free = capacity &- (t &- cachedHead.pointee)
        }
        let n = min(free, elements.count)
        guard n > 0 else { return 0 }
        let start = t & mask
        let first = min(n, capacity &- start)
        (storage + start).update(from: source, count: first)
        if first < n { storage.update(from: source + first, count: n &- first) }
        tail.pointee.store(t &+ n, ordering: .releasing)
        return n
    }

    // MARK: Consumer

    /// Consumer: removes and returns the oldest element, or `nil` when empty. O(1).
    @inlinable
    @inline(__always)
    public func dequeue() -> Element? {
        let h = head.pointee.load(ordering: .relaxed)
        if cachedTail.pointee == h {
            cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
            if cachedTail.pointee == h { return nil }
        }
        let element = storage[h & mask]
        head.pointee.store(h &+ 1, ordering: .releasing)
        return element
    }

    /// Consumer: moves up to `max` of the oldest elements (and at most `buffer.count`)
    /// into the start of `buffer`, in FIFO order, and frees their slots for the producer at
    /// once. Returns how many were moved (0 when empty). O(n).
    /// - Parameters:
    ///   - buffer: the destination; its first *n* elements are overwritten.
    ///   - max: an upper bound (default: `buffer.count`).
    @inlinable
    public func dequeue(into buffer: UnsafeMutableBufferPointer<Element>, max: Int = .max) -> Int {
        guard let destination = buffer.baseAddress else { return 0 }
        let wanted = Swift.min(max, buffer.count)
        guard wanted > 0 else { return 0 }
        let h = head.pointee.load(ordering: .relaxed)
        var available = cachedTail.pointee &- h
        if available < wanted {
            cachedTail.pointee = tail.pointee.load(ordering: .acquiring)
            available = cachedTail.pointee &- h
        }
        let n = Swift.min(available, wanted)
        guard n > 0 else { return 0 }
        let start = h & mask
        let first = Swift.min(n, capacity &- start)
        destination.update(from: storage + start, count: first)
        if first < n { (destination + first).update(from: storage, count: n &- first) }
        head.pointee.store(h &+ n, ordering: .releasing)
        return n
    }
}
