/// One result slot per worker thread: worker `i` stores its result in slot `i` once, at
/// its end; the controller reads the slots after joining every worker.
///
/// No lock: each slot has one writer, and `pthread_join` orders the write before the
/// controller's read — an order ThreadSanitizer sees. (`Synchronization.Mutex` waits on a
/// futex that ThreadSanitizer does not model, so workers appending to one locked array
/// were reported as racing whenever nothing else had ordered them.)
public final class WorkerResults<Value: Sendable>: @unchecked Sendable {
    private let slots: UnsafeMutablePointer<Value>
    /// The number of slots (workers).
    public let count: Int

    /// `count` slots, each holding `initial` until its worker stores a result.
    public init(count: Int, initial: Value) {
        self.count = count
        slots = .allocate(capacity: count)
        slots.initialize(repeating: initial, count: count)
    }

    deinit {
        slots.deinitialize(count: count)
        slots.deallocate()
    }

    /// Worker `index`: stores its result. Only that worker's thread calls this.
    public func store(_ value: Value, worker index: Int) {
        precondition(index >= 0 && index < count, "worker number out of range")
        slots[index] = value
    }

    /// Controller, after joining every worker: the results in worker order.
    public func collected() -> [Value] { Array(UnsafeBufferPointer(start: slots, count: count)) }
}
