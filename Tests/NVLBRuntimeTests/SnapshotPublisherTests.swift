import Glibc
import Synchronization
import Testing

@testable import NVLBRuntime

/// Records which generations have been deinitialized, without creating happens-before
/// edges (relaxed atomics) that could hide a race from ThreadSanitizer.
private final class Tracker: @unchecked Sendable {
    let count: Int
    let flags: UnsafeMutablePointer<Atomic<Bool>>
    let freed = Atomic<Int>(0)

    init(count: Int) {
        self.count = count
        flags = .allocate(capacity: count)
        for i in 0..<count { (flags + i).initialize(to: Atomic(false)) }
    }

    deinit {
        flags.deinitialize(count: count)
        flags.deallocate()
    }

    func markFreed(_ generation: Int) {
        flags[generation].store(true, ordering: .relaxed)
        freed.add(1, ordering: .relaxed)
    }

    func isFreed(_ generation: Int) -> Bool { flags[generation].load(ordering: .relaxed) }
    var freedCount: Int { freed.load(ordering: .relaxed) }
}

/// A snapshot: a generation number and some payload a reader dereferences.
private final class Generation: Sendable {
    let generation: Int
    let payload: [Int]
    let tracker: Tracker

    init(_ generation: Int, tracker: Tracker) {
        self.generation = generation
        self.payload = [generation, generation &* 3, generation &* 7]
        self.tracker = tracker
    }

    deinit { tracker.markFreed(generation) }
}

@Suite struct SnapshotPublisherTests {
    @Test func withoutOnlineWorkersTheOldSnapshotIsFreedAtOnce() {
        let tracker = Tracker(count: 3)
        let state = QuiescentState(workerCount: 2)
        do {
            let publisher = SnapshotPublisher(initial: Generation(0, tracker: tracker), quiescentState: state)
            #expect(publisher.publish(Generation(1, tracker: tracker)) == 0)
            #expect(tracker.isFreed(0))
            #expect(publisher.current()._withUnsafeGuaranteedRef { $0.generation } == 1)
            #expect(publisher.snapshot().generation == 1)
        }
        #expect(tracker.isFreed(1))
    }

    @Test func anOnlineWorkerDelaysReclamationUntilItsQuiescentPoint() {
        let tracker = Tracker(count: 4)
        let state = QuiescentState(workerCount: 2)
        let publisher = SnapshotPublisher(initial: Generation(0, tracker: tracker), quiescentState: state)
        state.online(worker: 0)
        state.online(worker: 1)
        #expect(state.isOnline(worker: 0))
        let held = publisher.current()
        #expect(publisher.publish(Generation(1, tracker: tracker)) == 1)
        #expect(publisher.publish(Generation(2, tracker: tracker)) == 2)
        #expect(!tracker.isFreed(0))
        #expect(held._withUnsafeGuaranteedRef { $0.payload[0] } == 0)
        state.quiesce(worker: 0)
        #expect(publisher.reclaim() == 2)  // worker 1 has not quiesced yet
        #expect(!publisher.synchronize(pollInterval: .microseconds(50), timeout: .milliseconds(5)))
        state.offline(worker: 1)
        #expect(!state.isOnline(worker: 1))
        #expect(publisher.reclaim() == 0)
        #expect(tracker.isFreed(0) && tracker.isFreed(1) && !tracker.isFreed(2))
        #expect(publisher.withCurrent { $0.generation } == 2)
        #expect(publisher.synchronize(timeout: .seconds(1)))
    }

    @Test func quiescingBeforeThePublicationDoesNotCount() {
        let tracker = Tracker(count: 3)
        let state = QuiescentState(workerCount: 1)
        let publisher = SnapshotPublisher(initial: Generation(0, tracker: tracker), quiescentState: state)
        state.online(worker: 0)
        state.quiesce(worker: 0)
        publisher.publish(Generation(1, tracker: tracker))
        #expect(publisher.pendingCount == 1)
        state.quiesce(worker: 0)
        publisher.publish(Generation(2, tracker: tracker))
        #expect(tracker.isFreed(0) && !tracker.isFreed(1))
        #expect(publisher.pendingCount == 1)
        state.offline(worker: 0)
    }

    /// A publisher thread publishes many snapshots while two reader threads read them
    /// once per "batch" and quiesce between batches.
    @Test func publicationUnderLoad() throws {
        let generations = 20_000
        let readers = 2
        let tracker = Tracker(count: generations + 1)
        let state = QuiescentState(workerCount: readers)
        let shared = SnapshotPublisher(initial: Generation(0, tracker: tracker), quiescentState: state)
        let stop = Flag()
        let regressions = Box()
        let usedAfterFree = Box()
        let reads = Box()
        let highest = Box()
        let synchronized = Flag()
        let maxPending = Box()

        var threads: [WorkerThread] = []
        for reader in 0..<readers {
            threads.append(
                try WorkerThread.start(index: reader, cpu: nil, name: "snap-reader-\(reader)") {
                    state.online(worker: reader)
                    var last = -1
                    var count = 0
                    var checksum = 0
                    while !stop.isSet {
                        shared.current()._withUnsafeGuaranteedRef { snapshot in
                            let generation = snapshot.generation
                            if generation < last { regressions.value.add(1, ordering: .relaxed) }
                            last = generation
                            checksum &+= snapshot.payload[0] &+ snapshot.payload[2]
                            if snapshot.payload[1] != generation &* 3 || tracker.isFreed(generation) {
                                usedAfterFree.value.add(1, ordering: .relaxed)
                            }
                        }
                        state.quiesce(worker: reader)
                        count += 1
                        if count % 4096 == 0 {
                            // An idle period: go offline, let the publisher run, come back.
                            state.offline(worker: reader)
                            sched_yield()
                            state.online(worker: reader)
                        }
                    }
                    // Stopping happens after the last publication: it must be visible now.
                    let final = shared.withCurrent { $0.generation }
                    if final < last { regressions.value.add(1, ordering: .relaxed) }
                    state.offline(worker: reader)
                    reads.value.add(count, ordering: .relaxed)
                    highest.value.add(final, ordering: .relaxed)
                    _ = checksum
                })
        }
        threads.append(
            try WorkerThread.start(index: readers, cpu: nil, name: "snap-publisher") {
                for generation in 1...generations {
                    let pending = shared.publish(Generation(generation, tracker: tracker))
                    if pending > maxPending.value.load(ordering: .relaxed) {
                        maxPending.value.store(pending, ordering: .relaxed)
                    }
                    if generation % 64 == 0 { sched_yield() }
                }
                // The readers are still running: the grace periods must end anyway.
                if shared.synchronize(timeout: .seconds(20)) { synchronized.set() }
                stop.set()
            })
        for thread in threads { thread.join() }

        #expect(synchronized.isSet)
        #expect(maxPending.value.load(ordering: .relaxed) > 0)  // grace periods were exercised
        #expect(regressions.value.load(ordering: .relaxed) == 0)
        #expect(usedAfterFree.value.load(ordering: .relaxed) == 0)
        #expect(reads.value.load(ordering: .relaxed) > 0)
        #expect(highest.value.load(ordering: .relaxed) == readers * generations)  // each finally sees the last one
        #expect(shared.pendingCount == 0)
        #expect(tracker.freedCount == generations)  // all but the current one
        #expect(!tracker.isFreed(generations))
    }

    @Test func destroyingThePublisherFreesEverything() {
        let tracker = Tracker(count: 4)
        let state = QuiescentState(workerCount: 1)
        do {
            let publisher = SnapshotPublisher(initial: Generation(0, tracker: tracker), quiescentState: state)
            state.online(worker: 0)
            publisher.publish(Generation(1, tracker: tracker))
            publisher.publish(Generation(2, tracker: tracker))
            #expect(publisher.pendingCount == 2)
            state.offline(worker: 0)
        }
        #expect(tracker.freedCount == 3)
    }
}
