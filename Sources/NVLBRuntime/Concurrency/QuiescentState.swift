import Synchronization

/// Quiescent-state-based reclamation (QSBR, as in userspace RCU) for a fixed set of
/// workers: tells the control plane when every worker has stopped using the objects it
/// could see before some moment, so that they can be freed — without any lock, fence or
/// read-modify-write on the workers' side.
///
/// **Workers** (each calls only with its own `worker` number, from the one thread that
/// runs it):
/// - ``online(worker:)`` before its first read of shared snapshots,
/// - ``quiesce(worker:)`` at every quiescent point — between batches, when it holds no
///   reference obtained from ``SnapshotPublisher/current()`` — costing one load of a
///   read-mostly line and one store to its own line (≈1 ns),
/// - ``offline(worker:)`` before it blocks, sleeps or stops (an offline worker never delays
///   reclamation). It must call ``online(worker:)`` again before its next read.
///
/// **Reclaimer** (control plane, any thread): ``advance()`` starts a grace period and
/// returns its target epoch; once ``hasPassed(_:)`` is true for it, every online worker
/// has gone through a quiescent point (or offline) since the call, so nothing it read
/// before the call is still in use. ``SnapshotPublisher`` does this for you.
///
/// Epochs are `UInt64` counters starting at 1; a worker's slot holds the global epoch it
/// saw at its last quiescent point, or 0 while offline. Each slot has a 128-byte block of
/// its own, so workers never share a cache line. Workers start offline.
public final class QuiescentState: @unchecked Sendable {
    /// The number of worker slots; worker numbers are `0..<workerCount`.
    public let workerCount: Int
    /// Block 0: the global epoch; block 1 + i: worker i's observed epoch.
    @usableFromInline let blocks: UnsafeMutableRawPointer

    @usableFromInline static var blockSize: Int { 128 }

    /// The global epoch; written by reclaimers, read by workers at each quiescent point.
    @usableFromInline var global: UnsafeMutablePointer<Atomic<UInt64>> {
        blocks.assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// Worker `worker`'s slot.
    @inlinable
    @inline(__always)
    func slot(_ worker: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        precondition(worker >= 0 && worker < workerCount, "worker number out of range")
        return (blocks + (worker &+ 1) &* Self.blockSize).assumingMemoryBound(to: Atomic<UInt64>.self)
    }

    /// Creates the state for `workerCount` workers, all offline. Allocates
    /// `128 × (workerCount + 1)` bytes once.
    public init(workerCount: Int) {
        precondition(workerCount >= 0, "negative worker count")
        self.workerCount = workerCount
        let size = (workerCount + 1) * Self.blockSize
        blocks = .allocate(byteCount: size, alignment: Self.blockSize)
        blocks.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        global.initialize(to: Atomic(1))
        for worker in 0..<workerCount { slot(worker).initialize(to: Atomic(0)) }
    }

    deinit {
        global.deinitialize(count: 1)
        for worker in 0..<workerCount { slot(worker).deinitialize(count: 1) }
        blocks.deallocate()
    }

    // MARK: Worker side

    /// Worker: announces a quiescent point — the worker holds no snapshot reference now.
    /// Call between batches. O(1): an acquire load and a release store, no fence.
    @inlinable
    @inline(__always)
    public func quiesce(worker: Int) {
        // Acquire: after seeing epoch E, this worker's later loads of a published pointer see
        // the pointer swapped before E was published. Release: its earlier reads of old
        // snapshots happen before the reclaimer sees this value.
        let epoch = global.pointee.load(ordering: .acquiring)
        slot(worker).pointee.store(epoch, ordering: .releasing)
    }

    /// Worker: enters the read side (at start, or after ``offline(worker:)``). Must precede
    /// the first ``SnapshotPublisher/current()`` call. O(1) with a full fence (rare).
    public func online(worker: Int) {
        // Sequentially consistent so that a reclaimer either sees this worker online or
        // this worker's next pointer load sees the newest pointer (a store-load order that
        // release/acquire alone does not give).
        let epoch = global.pointee.load(ordering: .sequentiallyConsistent)
        slot(worker).pointee.store(epoch, ordering: .sequentiallyConsistent)
        atomicMemoryFence(ordering: .sequentiallyConsistent)
    }

    /// Worker: leaves the read side (idle, blocking on I/O, stopping). It holds no snapshot
    /// reference from now on and no longer delays reclamation. O(1).
    @inlinable
    public func offline(worker: Int) {
        slot(worker).pointee.store(0, ordering: .releasing)
    }

    /// Whether `worker` is currently online (any thread; a snapshot of a moving value).
    public func isOnline(worker: Int) -> Bool {
        slot(worker).pointee.load(ordering: .acquiring) != 0
    }

    // MARK: Reclaimer side

    /// The current global epoch (any thread).
    public var epoch: UInt64 { global.pointee.load(ordering: .acquiring) }

    /// Reclaimer: starts a grace period. Returns the target epoch: once ``hasPassed(_:)``
    /// returns `true` for it, every worker has passed a quiescent point or been offline
    /// since this call. Call *after* unpublishing the objects to reclaim. O(1), lock-free.
    public func advance() -> UInt64 {
        global.pointee.wrappingAdd(1, ordering: .sequentiallyConsistent).newValue
    }

    /// Reclaimer: whether the grace period of `target` (from ``advance()``) is over.
    /// O(workerCount) loads; never blocks workers.
    public func hasPassed(_ target: UInt64) -> Bool {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        for worker in 0..<workerCount {
            let seen = slot(worker).pointee.load(ordering: .acquiring)
            if seen != 0 && seen < target { return false }
        }
        return true
    }
}
