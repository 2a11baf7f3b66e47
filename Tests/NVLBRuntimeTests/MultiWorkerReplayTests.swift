import Foundation
import NVLBDataplane
import NVLBIO
import NVLBPolicy
import NVLBRuntime
import NVLBTestSupport
import NVLBWire
import Testing

/// Replay with several workers: steering, hand-offs, ordered output, publication under load.
@Suite struct MultiWorkerReplayTests {
    /// `flows` external and internal TCP flows of the golden policy, interleaved:
    /// SYN, SYN-ACK from the DIP, ACK with data — 3 frames per flow.
    static func capture(flows: Int) -> [[UInt8]] {
        var requests: [[UInt8]] = []
        var replies: [[UInt8]] = []
        var acks: [[UInt8]] = []
        let clientVM = TestPolicies.ip("10.1.5.20")
        let clientVMMAC = TestPolicies.mac("00:15:5d:01:05:20")
        let clientHost = TestPolicies.ip("192.168.6.7")
        for i in 0..<flows {
            let port = UInt16(20000 + i)
            if i % 3 == 2 {
                // Internal: client VM (VSID 5002) → CA VIP 10.1.5.100:8080.
                let out = { (flags: TCPFlags) in
                    FrameBuilder.encapsulate(
                        inner: FrameBuilder.tcp(
                            srcMAC: clientVMMAC, dstMAC: Actors.blueGateway, src: clientVM,
                            dst: TestPolicies.ip("10.1.5.100"),
                            sport: port, dport: 8080, flags: flags),
                        outerSourceMAC: TestPolicies.mac("02:00:00:00:06:07"), outerDestinationMAC: Actors.lbMAC,
                        outerSource: clientHost, outerDestination: Actors.lbPA, vsid: 5002, flowID: UInt8(i & 0xff))
                }
                requests.append(out(.syn))
                acks.append(out(.ack))
                replies.append(
                    FrameBuilder.encapsulate(
                        inner: FrameBuilder.tcp(
                            srcMAC: Actors.vm2MAC, dstMAC: Actors.blueGateway, src: Actors.vm2, dst: clientVM,
                            sport: 8080, dport: port,
                            flags: [.syn, .ack]),
                        outerSourceMAC: Actors.host1MAC, outerDestinationMAC: Actors.lbMAC, outerSource: Actors.host1PA,
                        outerDestination: Actors.lbPA, vsid: 5001))
            } else {
                let client = IPv4Address(rawValue: 0xC612_0000 + UInt32(i))  // 198.18.x.y
                let out = { (flags: TCPFlags) in
                    FrameBuilder.tcp(
                        srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: client, dst: Actors.blueVIP,
                        sport: port, dport: 80,
                        flags: flags)
                }
                requests.append(out(.syn))
                acks.append(out(.ack))
                replies.append(
                    FrameBuilder.encapsulate(
                        inner: FrameBuilder.tcp(
                            srcMAC: Actors.vm2MAC, dstMAC: Actors.blueGateway, src: Actors.vm2, dst: client, sport: 80,
                            dport: port,
                            flags: [.syn, .ack]),
                        outerSourceMAC: Actors.host1MAC, outerDestinationMAC: Actors.lbMAC, outerSource: Actors.host1PA,
                        outerDestination: Actors.lbPA, vsid: 5001))
            }
        }
        // Interleave in windows of 10 flows: 10 SYNs, their replies, their ACKs.
        var frames: [[UInt8]] = []
        for window in stride(from: 0, to: flows, by: 10) {
            let range = window..<min(window + 10, flows)
            frames += requests[range] + replies[range] + acks[range]
        }
        return frames
    }

    static func replay(_ frames: [[UInt8]], options: Replay.Options) throws -> (
        stats: ReplayStatistics, output: [CapturedFrame]
    ) {
        let directory = try TestSupport.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let input = directory.appendingPathComponent("in.pcap").path
        let output = directory.appendingPathComponent("out.pcap").path
        var writer = try PcapFileWriter(path: input)
        for (index, frame) in frames.enumerated() {
            try writer.write(
                frame, timestamp: PacketTimestamp(seconds: 1_700_000_000 + Int64(index / 100), microseconds: 0))
        }
        try writer.close()
        let stats = try Replay.run(
            snapshot: PolicySnapshot(configuration: TestPolicies.goldenExample()), input: input, output: output,
            options: options)
        var reader = try PcapFileReader(path: output)
        return (stats, try reader.readAll())
    }

    @Test func oneAndTwoWorkersProduceTheSameFrames() throws {
        let frames = Self.capture(flows: 300)
        let one = try Self.replay(frames, options: .init(workers: 1))
        let two = try Self.replay(frames, options: .init(workers: 2))
        #expect(one.output.count == frames.count)
        #expect(one.output == two.output)
        #expect(one.stats.packetsIn == UInt64(frames.count) && two.stats.packetsIn == UInt64(frames.count))
        #expect(one.stats.dropped == 0 && two.stats.dropped == 0)
        #expect(one.stats.flowsCreated == 300)
        #expect(two.stats.flowsCreated == 300)
        #expect(one.stats.backends == two.stats.backends)
        // One worker never hands off; with two, frames whose outer addresses spread them
        // to the other worker (requests and replies of a NAT'd flow differ) are handed over.
        #expect(one.stats.handoffs == 0)
        #expect(two.stats.handoffs > 0 && two.stats.handoffs < UInt64(frames.count))
        #expect(two.stats.workers == 2)
    }

    @Test func publishingPoliciesDuringTheReplayLosesNothing() throws {
        let frames = Self.capture(flows: 200)
        let baseline = try Self.replay(frames, options: .init(workers: 1))
        var options = Replay.Options(workers: 2)
        options.republish = 200
        options.inFlight = 64
        let reloaded = try Self.replay(frames, options: options)
        #expect(reloaded.output == baseline.output)
        #expect(
            reloaded.stats.packetsIn == reloaded.stats.packetsOut + reloaded.stats.answered + reloaded.stats.dropped)
    }

    @Test(arguments: [2, 3, 4, 8])
    func bothDirectionsOfAFlowHaveOneOwner(workers: Int) {
        let snapshot = PolicySnapshot(configuration: TestPolicies.goldenExample())
        let frames = Self.capture(flows: 30)
        // Frames 0–9 are requests, 10–19 replies of the same ten flows.
        for window in stride(from: 0, to: frames.count, by: 30) {
            for i in 0..<10 {
                let request = Self.classify(frames[window + i], snapshot)
                let reply = Self.classify(frames[window + 10 + i], snapshot)
                #expect(request.kind != .done && reply.kind == .reply)
                #expect(Steering.owner(of: request, workers: workers) == Steering.owner(of: reply, workers: workers))
            }
        }
    }

    static func classify(_ frame: [UInt8], _ snapshot: PolicySnapshot) -> Classification {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: Packet.headroom + frame.count, alignment: 64)
        defer { buffer.deallocate() }
        frame.withUnsafeBytes { (buffer + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        var packet = Packet(base: buffer, start: Packet.headroom, length: frame.count)
        return DataplaneWorker.classify(&packet, snapshot: snapshot)
    }
}
