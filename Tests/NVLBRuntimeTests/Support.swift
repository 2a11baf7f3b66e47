import CNVLBShims
import Synchronization

/// A shared integer for test threads.
final class Box: Sendable {
    let value = Atomic<Int>(0)
}

/// A shared flag for test threads.
final class Flag: Sendable {
    let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}

/// A deadline on the monotonic clock, so that a broken concurrent test fails instead of hanging.
struct Deadline {
    let end: UInt64
    init(seconds: Double) { end = nvlb_monotonic_nanoseconds() + UInt64(seconds * 1e9) }
    var hasPassed: Bool { nvlb_monotonic_nanoseconds() > end }
}
