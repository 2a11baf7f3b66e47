import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire

/// Runs frames through one worker's pipeline, as a receive loop would: each frame
/// is copied into a buffer behind `Packet.headroom` bytes.
final class Harness {
    var worker: DataplaneWorker
    var snapshot: PolicySnapshot
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + 16_384, alignment: 64)

    init(_ configuration: PolicyConfiguration, flowCapacity: Int = 1024) {
        worker = DataplaneWorker(flowCapacity: flowCapacity)
        snapshot = PolicySnapshot(configuration: configuration)
    }

    deinit { buffer.deallocate() }

    /// The verdict for `frame` and the bytes nvlb would send (empty when dropped).
    func run(_ frame: [UInt8], now: UInt32 = 1000) -> (verdict: Verdict, output: [UInt8]) {
        frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
        let verdict = worker.process(&packet, snapshot: snapshot, now: now)
        if case .drop = verdict { return (verdict, []) }
        return (verdict, Array(UnsafeRawBufferPointer(start: packet.bytes, count: packet.length)))
    }

    var counters: CounterSnapshot { worker.counters.snapshot() }
}
