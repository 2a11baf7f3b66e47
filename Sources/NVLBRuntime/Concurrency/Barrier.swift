import Synchronization
#if canImport(Glibc)
    import Glibc
#endif

/// A reusable spinning barrier for a fixed number of threads (start lines of
/// benchmark phases; not for the packet path).
public final class Barrier: Sendable {
    let parties: Int
    let arrived = Atomic<Int>(0)
    let generation = Atomic<Int>(0)

    public init(parties: Int) { self.parties = parties }

    public func wait() {
        let current = generation.load(ordering: .acquiring)
        if arrived.add(1, ordering: .acquiringAndReleasing).newValue == parties {
            arrived.store(0, ordering: .relaxed)
            generation.add(1, ordering: .releasing)
        } else {
            while generation.load(ordering: .acquiring) == current { sched_yield() }
        }
    }
}
