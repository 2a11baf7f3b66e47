import CNVLBShims
import Foundation
import NVLBDataplane
import NVLBIO
import NVLBPolicy

/// `nvlb replay`: runs the data plane over a capture. Every frame of the input is
/// processed as if received; every frame nvlb would send is written to the output
/// with the input frame's timestamp. The flow clock follows the capture's
/// timestamps, so timeouts replay exactly.
public enum Replay {
    /// Replays `input` into `output` with one worker; returns merged statistics.
    public static func run(snapshot: PolicySnapshot, input: String, output: String, flowCapacity: Int? = nil)
        throws(PcapError) -> ReplayStatistics
    {
        var reader = try PcapFileReader(path: input)
        var writer = try PcapFileWriter(path: output)
        let capacity = reader.snapshotLength
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + capacity, alignment: 64)
        defer { buffer.deallocate() }
        var worker = DataplaneWorker(
            flowCapacity: flowCapacity ?? snapshot.configuration.balancer.flowTableCapacity)
        let started = nvlb_monotonic_nanoseconds()
        while let record = try reader.read(into: buffer + Packet.headroom, capacity: capacity) {
            var packet = Packet(base: buffer, start: Packet.headroom, length: record.capturedLength)
            let verdict = worker.process(
                &packet, snapshot: snapshot, now: UInt32(truncatingIfNeeded: record.timestamp.seconds))
            switch verdict {
            case .forward, .answer:
                try writer.write(packet.bytes, length: packet.length, timestamp: record.timestamp)
            case .drop:
                break
            }
        }
        try writer.close()
        let elapsed = Double(nvlb_monotonic_nanoseconds() &- started) / 1e9
        return ReplayStatistics(
            counters: worker.counters.snapshot(), snapshot: snapshot, workers: 1, seconds: elapsed)
    }
}
