import Glibc
import NVLBDataplane
import NVLBRuntime
import NVLBTestSupport
import NVLBPolicy
import NVLBWire

// Fixtures of the benchmarks: the example policy (`TestPolicies`), its actors
// and the golden frames of docs/packets.md "Packet paths" (`GoldenFrames`) come from the root package's
// NVLBTestSupport library. Everything in this file runs in setup, outside the measured region.

/// The clock value every benchmark passes as `now` (seconds): flows never expire.
let benchmarkNow: UInt32 = 1000

/// Frames of the benchmarks besides the golden inputs of docs/packets.md "Packet paths" (`GoldenFrames`).
enum BenchFrames {
    /// docs/packets.md "ARP and next hops": who-has 192.168.6.2 (nvlb's PA), broadcast from host 1.
    static let arpRequest = FrameBuilder.arpRequest(
        senderMAC: Actors.host1MAC, senderIP: Actors.host1PA, targetIP: Actors.lbPA)

    /// An Internet packet to an address of the external side that is no VIP: `no_vip`.
    static let noVIP = FrameBuilder.tcp(
        srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client,
        dst: TestPolicies.ip("131.107.99.99"), sport: 40000, dport: 80, flags: .syn)
}

/// One frame copied into manually managed memory (no array access in the measured loop).
final class RawFrame {
    let bytes: UnsafeMutableRawPointer
    let count: Int

    init(_ frame: [UInt8]) {
        count = frame.count
        bytes = .allocate(byteCount: max(count, 1), alignment: 64)
        frame.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: count) }
    }

    deinit { bytes.deallocate() }
}

/// Flow-table memory on 2 MiB-aligned transparent huge pages: the runtime's NUMA buffer
/// (blocks of 4 MiB and more are advised for huge pages).
final class HugePageMemory {
    let buffer: NUMABuffer
    var base: UnsafeMutableRawPointer { buffer.baseAddress }
    init(byteCount: Int) {
        do { buffer = try NUMABuffer(byteCount: byteCount, node: nil) } catch { fatalError("\(error)") }
    }
}

/// A flow table of `capacity` slots: on `memory` when given, else from the general allocator.
func makeFlowTable(capacity: Int, memory: HugePageMemory?) -> FlowTable {
    guard let memory else { return FlowTable(capacity: capacity) }
    return FlowTable(memory: memory.base, capacity: capacity)
}

/// Huge-page memory for a flow table of `capacity` slots, or nil for the general allocator.
func flowTableMemory(capacity: Int, hugePages: Bool) -> HugePageMemory? {
    hugePages ? HugePageMemory(byteCount: FlowTable.byteCount(capacity: capacity)) : nil
}

/// A data plane worker with a snapshot and one receive buffer, as a receive loop holds them.
/// The worker lives behind a pointer so the measured loop calls its mutating methods without
/// the dynamic exclusivity checks of a class property.
final class WorkerFixture {
    let snapshot: PolicySnapshot
    let worker: UnsafeMutablePointer<DataplaneWorker>
    /// `Packet.headroom` bytes, then room for a jumbo frame.
    let buffer: UnsafeMutableRawPointer

    /// Owns the flow table's memory when it is on huge pages.
    let tableMemory: HugePageMemory?

    init(configuration: PolicyConfiguration, flowCapacity: Int, hugePages: Bool = false) {
        snapshot = PolicySnapshot(configuration: configuration)
        worker = .allocate(capacity: 1)
        tableMemory = flowTableMemory(capacity: flowCapacity, hugePages: hugePages)
        worker.initialize(to: DataplaneWorker(flows: makeFlowTable(capacity: flowCapacity, memory: tableMemory)))
        buffer = .allocate(byteCount: Packet.headroom + 16_384, alignment: 64)
    }

    deinit {
        worker.deinitialize(count: 1)
        worker.deallocate()
        buffer.deallocate()
    }

    /// Runs one frame outside the measurement (priming flows, checking verdicts).
    @discardableResult
    func run(_ frame: [UInt8]) -> (verdict: Verdict, output: [UInt8]) {
        frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
        let verdict = worker.pointee.process(&packet, snapshot: snapshot, now: benchmarkNow)
        if case .drop = verdict { return (verdict, []) }
        return (verdict, Array(UnsafeRawBufferPointer(start: packet.bytes, count: packet.length)))
    }
}
