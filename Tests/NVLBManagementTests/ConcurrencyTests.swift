import Foundation
import NVLBControl
import NVLBDataplane
import NVLBManagement
import NVLBPolicy
import NVLBRuntime
import NVLBTestSupport
import NVLBWire
import Synchronization
import Testing

/// The management change path in front of two workers that forward traffic all the time.
final class TwoWorkerRig: ManagementBackend, @unchecked Sendable {
    let quiescence = QuiescentState(workerCount: 2)
    let publisher: SnapshotPublisher<PolicySnapshot>
    let stop = Atomic<Bool>(false)
    /// Per worker: the generation it last ran a batch with, and its outcomes.
    final class Slot: Sendable {
        let seen = Atomic<UInt32>(0)
        let forwarded = Atomic<UInt64>(0)
        let other = Atomic<UInt64>(0)
    }
    let slots = [Slot(), Slot()]

    init(_ configuration: PolicyConfiguration) {
        publisher = SnapshotPublisher(initial: PolicySnapshot(configuration: configuration), quiescentState: quiescence)
    }

    func publish(_ configuration: PolicyConfiguration) {
        publisher.publish(PolicySnapshot(configuration: configuration))
    }

    func figures() -> RuntimeFigures { RuntimeFigures() }

    /// One worker: its own clients (distinct source ports), a SYN then ACKs per flow, in a loop.
    func work(_ index: Int) {
        var worker = DataplaneWorker(flowCapacity: 4096)
        let frames = (0..<4).flatMap { n -> [[UInt8]] in
            let port = UInt16(20_000 + index * 1000 + n)
            return [
                Actors.external(sport: port, flags: .syn), Actors.external(sport: port, flags: .ack, payload: [1, 2]),
            ]
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + 2048, alignment: 64)
        defer { buffer.deallocate() }
        quiescence.online(worker: index)
        var forwardedCount: UInt64 = 0
        var otherCount: UInt64 = 0
        var round = 0
        while !stop.load(ordering: .acquiring) {
            publisher.current()._withUnsafeGuaranteedRef { snapshot in
                for frame in frames {
                    frame.withUnsafeBytes {
                        (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                    }
                    var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
                    if case .forward = worker.process(&packet, snapshot: snapshot, now: 1000 + UInt32(round / 1000)) {
                        forwardedCount += 1
                    } else {
                        otherCount += 1
                    }
                }
                slots[index].seen.store(snapshot.generation, ordering: .releasing)
            }
            quiescence.quiesce(worker: index)
            round += 1
            // Two workers and the test's own thread share two cores here: let the control
            // plane run (a pinned worker on its own core would not yield).
            sched_yield()
        }
        quiescence.offline(worker: index)
        slots[index].forwarded.store(forwardedCount, ordering: .relaxed)
        slots[index].other.store(otherCount, ordering: .relaxed)
    }
}

@Suite("Change path under traffic")
struct ConcurrencyTests {
    @Test("1,000 API changes while two workers forward: 0 lost packets, both on the final generation")
    func thousandChanges() async throws {
        let fixture = try ManagementFixture()
        let rig = TwoWorkerRig(fixture.store.current.configuration)
        let store = try ConfigurationStore(path: fixture.configPath) { rig.publish($0) }
        let threads = (0..<2).map { index in Thread(block: { rig.work(index) }) }
        for thread in threads { thread.start() }
        var latencies: [Double] = []
        for change in 0..<1000 {
            let weight = 1 + change % 3
            let state = try store.change { (document: inout ConfigurationDocument) throws(ChangeFailure) in
                try document.setBackendWeight(
                    loadBalancer: "blue-web", vsid: "5001", ca: "10.1.6.21",
                    body: .object([.init(key: "weight", value: .integer(weight))]))
            }
            #expect(state.generation == UInt64(change + 2))
            // Until every worker runs a batch with the new snapshot.
            let generation = rig.publisher.snapshot().generation
            let start = ContinuousClock.now
            while rig.slots.contains(where: { $0.seen.load(ordering: .acquiring) != generation }) {
                if ContinuousClock.now - start > .seconds(5) { break }
                sched_yield()
            }
            let elapsed = ContinuousClock.now - start
            latencies.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
        }
        let final = rig.publisher.snapshot().generation
        rig.stop.store(true, ordering: .releasing)
        while threads.contains(where: { !$0.isFinished }) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(rig.slots.allSatisfy { $0.seen.load(ordering: .acquiring) == final })
        #expect(rig.slots.allSatisfy { $0.other.load(ordering: .relaxed) == 0 }, "a packet was not forwarded")
        #expect(rig.slots.allSatisfy { $0.forwarded.load(ordering: .relaxed) > 0 })
        _ = rig.publisher.synchronize(timeout: .seconds(1))
        #expect(rig.publisher.pendingCount == 0)
        latencies.sort()
        let median = latencies[latencies.count / 2]
        let p99 = latencies[latencies.count * 99 / 100]
        print("publication reached both workers: median \(median) µs, p99 \(p99) µs, max \(latencies.last!) µs")
        #expect(store.current.configuration.loadBalancers[0].backends[1].weight == UInt32(1 + 999 % 3))
    }
}
