import CNVLBShims

#if canImport(Glibc)
    import Glibc
#endif

extension LiveEngine {
    /// Waits until every worker has passed a quiescent point since the last publication, or
    /// is idle (offline): from then on no worker processes a packet with an older policy —
    /// the new generation is in effect everywhere (docs/architecture.md "Snapshot
    /// publication"). Spins on the calling control-plane thread (yielding), never blocks a
    /// worker. Returns the nanoseconds waited, or nil after `timeoutNanoseconds`.
    public func awaitPropagation(timeoutNanoseconds: UInt64 = 100_000_000) -> UInt64? {
        // The epoch after the last advance: a target no older than the last publication's.
        let target = quiescence.epoch
        let start = nvlb_monotonic_nanoseconds()
        while !quiescence.hasPassed(target) {
            let elapsed = nvlb_monotonic_nanoseconds() &- start
            if elapsed > timeoutNanoseconds { return nil }
            sched_yield()
        }
        return nvlb_monotonic_nanoseconds() &- start
    }
}
