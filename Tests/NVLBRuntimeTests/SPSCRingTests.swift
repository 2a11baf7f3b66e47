import Glibc
import Testing

@testable import NVLBRuntime

/// The shape of descriptor the engine passes: a buffer index and a frame length.
private struct Descriptor: BitwiseCopyable, Equatable {
    var index: UInt32
    var length: UInt16
}

@Suite struct SPSCRingTests {
    @Test func capacityRoundsUpToAPowerOfTwo() {
        #expect(SPSCRing<Int>(capacity: 1).capacity == 2)
        #expect(SPSCRing<Int>(capacity: 5).capacity == 8)
        #expect(SPSCRing<Int>(capacity: 1024).capacity == 1024)
    }

    @Test func singleElementFIFOFullAndEmpty() {
        let ring = SPSCRing<Descriptor>(capacity: 4)
        #expect(ring.isEmpty)
        #expect(ring.dequeue() == nil)
        for i in 0..<4 { #expect(ring.enqueue(Descriptor(index: UInt32(i), length: 60))) }
        #expect(ring.count == 4)
        #expect(!ring.enqueue(Descriptor(index: 99, length: 60)))
        #expect(ring.count == 4)
        for i in 0..<4 { #expect(ring.dequeue() == Descriptor(index: UInt32(i), length: 60)) }
        #expect(ring.dequeue() == nil)
        #expect(ring.isEmpty)
    }

    @Test func wrapsAroundManyTimes() {
        let ring = SPSCRing<Int>(capacity: 8)
        var next = 0
        var expected = 0
        for round in 0..<1000 {
            for _ in 0..<(round % 7 + 1) where ring.enqueue(next) { next += 1 }
            for _ in 0..<(round % 5 + 1) {
                guard let value = ring.dequeue() else { break }
                #expect(value == expected)
                expected += 1
            }
        }
        while let value = ring.dequeue() {
            #expect(value == expected)
            expected += 1
        }
        #expect(expected == next)
        #expect(next > 1000)
    }

    @Test func batchOperationsWrapAndReportWhatFit() {
        let ring = SPSCRing<Int>(capacity: 8)
        var out = [Int](repeating: -1, count: 16)
        let input = Array(0..<16)
        // Move head and tail to the middle so that batches straddle the end of storage.
        #expect(
            input.withUnsafeBufferPointer { ring.enqueue(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<5])) } == 5)
        #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(into: $0, max: 5) } == 5)
        #expect(out[0..<5] == [0, 1, 2, 3, 4])
        // 16 offered, 8 fit (wrapping at slot 8), the rest is refused.
        #expect(input.withUnsafeBufferPointer { ring.enqueue(contentsOf: $0) } == 8)
        #expect(input.withUnsafeBufferPointer { ring.enqueue(contentsOf: $0) } == 0)
        #expect(!ring.enqueue(99))
        #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(into: $0, max: 3) } == 3)
        #expect(out[0..<3] == [0, 1, 2])
        #expect(input.withUnsafeBufferPointer { ring.enqueue(contentsOf: $0) } == 3)
        #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(into: $0) } == 8)
        #expect(out[0..<8] == [3, 4, 5, 6, 7, 0, 1, 2])
        #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(into: $0) } == 0)
        #expect(out.withUnsafeMutableBufferPointer { ring.dequeue(into: $0, max: 0) } == 0)
        #expect([Int]().withUnsafeBufferPointer { ring.enqueue(contentsOf: $0) } == 0)
    }

    /// One producer pushes 1,000,000 sequence numbers (in batches of varying size, and
    /// singly), one consumer checks it receives each exactly once, in order.
    ///
    /// Like the engine's descriptors, each number also names a slot of a shared payload
    /// pool that the producer writes before enqueueing and the consumer reads after
    /// dequeueing. ThreadSanitizer checks these plain accesses against the ring's
    /// release/acquire edges (in a debug build, the ring's own generic element copies run
    /// in the uninstrumented standard library, so the pool is what makes a missing edge
    /// visible to it).
    @Test func twoThreadStressKeepsOrderExactlyOnce() throws {
        let total = 1_000_000
        let ring = SPSCRing<UInt64>(capacity: 1024)
        // Larger than capacity + the consumer's batch, so a slot is rewritten only after
        // the consumer has read it and moved its head past it.
        let pool = Pool(count: 4096)
        let badPayloads = Box()
        let received = Box()
        let outOfOrder = Box()
        let timedOut = Flag()

        let consumer = try WorkerThread.start(index: 1, cpu: nil, name: "ring-consumer") {
            let deadline = Deadline(seconds: 30)
            var batch = [UInt64](repeating: 0, count: 100)
            var expected: UInt64 = 0
            var bad = 0
            var useBatch = true
            while expected < UInt64(total) {
                var got = 0
                if useBatch {
                    got = batch.withUnsafeMutableBufferPointer { ring.dequeue(into: $0, max: Int(expected % 97) + 1) }
                } else if let value = ring.dequeue() {
                    batch[0] = value
                    got = 1
                }
                useBatch.toggle()
                if got == 0 {
                    if deadline.hasPassed {
                        timedOut.set()
                        break
                    }
                    sched_yield()
                    continue
                }
                for value in batch[..<got] {
                    if value != expected { bad += 1 }
                    if pool.words[Int(value) & (pool.count - 1)] != Pool.payload(value) {
                        badPayloads.value.add(1, ordering: .relaxed)
                    }
                    expected = value + 1
                }
            }
            received.value.store(Int(expected), ordering: .relaxed)
            outOfOrder.value.store(bad, ordering: .relaxed)
        }
        let producer = try WorkerThread.start(index: 0, cpu: nil, name: "ring-producer") {
            let deadline = Deadline(seconds: 30)
            var next: UInt64 = 0
            var batch = [UInt64](repeating: 0, count: 64)
            while next < UInt64(total) {
                let size = min(Int(next % 61) + 1, total - Int(next))
                var pushed = 0
                if size % 3 == 0 {
                    pool.words[Int(next) & (pool.count - 1)] = Pool.payload(next)
                    if ring.enqueue(next) { pushed = 1 }
                } else {
                    for i in 0..<size {
                        batch[i] = next + UInt64(i)
                        pool.words[Int(batch[i]) & (pool.count - 1)] = Pool.payload(batch[i])
                    }
                    pushed = batch.withUnsafeBufferPointer {
                        ring.enqueue(contentsOf: UnsafeBufferPointer(rebasing: $0[0..<size]))
                    }
                }
                if pushed == 0 {
                    if deadline.hasPassed || timedOut.isSet { break }
                    sched_yield()
                }
                next += UInt64(pushed)
            }
        }
        producer.join()
        consumer.join()
        #expect(!timedOut.isSet)
        #expect(received.value.load(ordering: .relaxed) == total)
        #expect(outOfOrder.value.load(ordering: .relaxed) == 0)
        #expect(badPayloads.value.load(ordering: .relaxed) == 0)
        #expect(ring.isEmpty)
    }
}

/// Shared payload words indexed by sequence number (a stand-in for packet buffers).
private final class Pool: @unchecked Sendable {
    let count: Int
    let words: UnsafeMutablePointer<UInt64>

    init(count: Int) {
        self.count = count
        words = .allocate(capacity: count)
        words.initialize(repeating: 0, count: count)
    }

    deinit { words.deallocate() }

    static func payload(_ sequence: UInt64) -> UInt64 { sequence &* 0x9E37_79B9_7F4A_7C15 | 1 }
}
