import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

@testable import NVLBRuntime

/// The live engine's hand-off between workers (`LiveEngine.handOff`, docs/architecture.md
/// "Steering and hand-offs") driven through the shared worker loop, two workers polled in
/// a fixed order on one thread: deterministic, no timing.
@Suite struct LiveHandoffTests {
    /// A worker's I/O for the test: frames "received" from a list, hand-offs through
    /// `FrameHandoff` rings exactly as the live engine's, forwarded frames counted.
    final class TestIO: WorkerIO {
        typealias Token = NoToken
        let index: Int
        /// `rings[owner][source]`, as the live engine's.
        let rings: [[FrameHandoff]]
        var frames: [[UInt8]] = []
        var next = 0
        var counters = LiveEngine.WorkerIOCounters()
        var forwarded = 0
        let buffers: UnsafeMutableRawPointer
        let received: UnsafeMutablePointer<FrameHandoff.Descriptor>
        static let slot = Packet.headroom + 2048

        init(index: Int, rings: [[FrameHandoff]]) {
            self.index = index
            self.rings = rings
            buffers = .allocate(byteCount: 64 * Self.slot, alignment: 64)
            received = .allocate(capacity: 64)
        }

        deinit {
            buffers.deallocate()
            received.deallocate()
        }

        var receiveSources: Int { 1 }

        func receive(
            from source: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>,
            max: Int
        ) -> Int {
            var n = 0
            while n < max, next < frames.count {
                let base = buffers + n * Self.slot
                frames[next].withUnsafeBytes {
                    (base + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                }
                packets[n] = Packet(base: base, start: Packet.headroom, length: frames[next].count)
                n += 1
                next += 1
            }
            return n
        }

        func receiveHandoffs(
            from worker: Int, into packets: UnsafeMutablePointer<Packet>, tokens: UnsafeMutablePointer<NoToken>,
            max: Int
        ) -> Int {
            let ring = rings[index][worker]
            let n = ring.receive(into: received, max: max)
            for i in 0..<n {
                packets[i] = Packet(
                    base: ring.cell(received[i]), start: Packet.headroom, length: Int(received[i].length))
            }
            return n
        }

        func handOff(_ packet: Packet, token: NoToken, to owner: Int) -> Bool {
            LiveEngine.handOff(packet, to: rings[owner][index], counters: &counters)
        }

        func intercept(_ packet: Packet, from source: Int, dataplane: inout DataplaneWorker) -> Bool { false }

        func flowClock(_ tokens: UnsafeMutablePointer<NoToken>, count: Int) -> UInt32 { 100 }

        func transmit(
            _ packets: UnsafeMutablePointer<Packet>, verdicts: UnsafeMutablePointer<Verdict>,
            tokens: UnsafeMutablePointer<NoToken>, count: Int, receivedFrom source: Int?,
            fragments: borrowing FragmentBuffer
        ) {
            for i in 0..<count where verdicts[i].egress != nil { forwarded += 1 }
        }
    }

    static let flows = 512

    /// UDP requests to the example's public VIP (131.107.10.10:53), one per flow.
    static func requests() -> [[UInt8]] {
        let client = TestPolicies.mac("02:00:00:00:00:01")
        let external = TestPolicies.mac("02:4c:42:00:00:01")
        let vip = TestPolicies.ip("131.107.10.10")
        var frames: [[UInt8]] = []
        for flow in 0..<flows {
            let source = IPv4Address(198, 18, UInt8(flow / 200), UInt8(flow % 200 + 1))
            let port = UInt16(10_000 + flow)
            let frame: [UInt8] = FrameBuilder.udp(
                srcMAC: client, dstMAC: external, src: source, dst: vip, sport: port, dport: 53, payload: [1, 2, 3, 4])
            frames.append(FrameBuilder.padded(frame))
        }
        return frames
    }

    static func makeLoops(ringCapacity: Int) -> [WorkerLoop<TestIO>] {
        let rings = (0..<2).map { _ in
            (0..<2).map { _ in FrameHandoff(capacity: ringCapacity, batch: 64, frameCapacity: 1984) }
        }
        return (0..<2).map { index in
            WorkerLoop(
                index: index, workers: 2, dataplane: DataplaneWorker(flows: FlowTable(capacity: 4096)),
                io: TestIO(index: index, rings: rings), batchSize: 64)
        }
    }

    /// Worker 0 receives every flow while worker 1 is busy elsewhere, so most of worker 1's
    /// flows find the hand-off ring full; then the same frames again with worker 1 keeping
    /// up. Every flow gets exactly one entry, in its owner's table: a frame that found the
    /// ring full was dropped and counted, not finished by worker 0 (which would have
    /// given its flow a second entry, in worker 0's table, when the owner saw it later).
    @Test func aFullHandoffRingDropsInsteadOfCreatingASecondEntry() {
        let policy = PolicySnapshot(configuration: TestPolicies.example())
        let loops = Self.makeLoops(ringCapacity: 64)
        let frames = Self.requests()
        // Owners, as the loop computes them.
        var owned = [0, 0]
        for frame in frames {
            var copy = frame
            copy.withUnsafeMutableBytes { bytes in
                var packet = Packet(base: bytes.baseAddress!, start: 0, length: bytes.count)
                var classification = Classification()
                DataplaneWorker.classify(&packet, into: &classification, snapshot: policy)
                owned[Steering.owner(of: classification, workers: 2)!] += 1
            }
        }
        #expect(owned[1] > 64, "the test needs more flows for worker 1 than its ring holds")

        // Pass 1: worker 1 does not poll; its ring (64 frames) fills.
        loops[0].io.frames = frames
        while loops[0].io.next < frames.count { _ = loops[0].poll(policy) }
        while loops[1].poll(policy) > 0 {}
        #expect(loops[0].io.counters.handoffDrops == UInt64(owned[1] - 64))
        #expect(loops[0].io.counters.handoffOverflows == 0)

        // Pass 2: the same flows; worker 1 drains after every batch of worker 0.
        loops[0].io.frames = frames
        loops[0].io.next = 0
        while loops[0].io.next < frames.count {
            _ = loops[0].poll(policy)
            while loops[1].poll(policy) > 0 {}
        }
        #expect(loops[0].io.counters.handoffDrops == UInt64(owned[1] - 64))

        let created = loops.map { Int($0.dataplane.counters.snapshot().flowsCreated) }
        #expect(created == owned, "one entry per flow, in its owner's table")
        #expect(created.reduce(0, +) == Self.flows)
        // Everything that was not dropped at the ring reached the data plane once, and left.
        let processed = loops.map { Int($0.dataplane.counters.snapshot().packetsIn) }.reduce(0, +)
        #expect(processed == 2 * Self.flows - (owned[1] - 64))
        #expect(loops[0].io.forwarded + loops[1].io.forwarded == processed)
    }

    /// A frame longer than a ring cell cannot be handed over: the receiving worker keeps
    /// it (false) and counts it in `handoffOverflows`; a frame that fits is handed over.
    @Test func aFrameLongerThanACellStaysWithTheReceiver() {
        let ring = FrameHandoff(capacity: 4, batch: 64, frameCapacity: 128)
        var counters = LiveEngine.WorkerIOCounters()
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + 4096, alignment: 64)
        defer { bytes.deallocate() }
        bytes.initializeMemory(as: UInt8.self, repeating: 0xAB, count: Packet.headroom + 4096)
        let long = Packet(base: bytes, start: Packet.headroom, length: ring.cellSize - Packet.headroom + 1)
        #expect(!LiveEngine.handOff(long, to: ring, counters: &counters))
        #expect(counters.handoffOverflows == 1)
        let short = Packet(base: bytes, start: Packet.headroom, length: 60)
        for _ in 0..<4 { #expect(LiveEngine.handOff(short, to: ring, counters: &counters)) }
        #expect(counters.handoffDrops == 0)
        // The ring holds 4: the fifth is dropped, and still leaves the receiver.
        #expect(LiveEngine.handOff(short, to: ring, counters: &counters))
        #expect(counters.handoffDrops == 1)
        #expect(counters.handoffOverflows == 1)
    }
}
