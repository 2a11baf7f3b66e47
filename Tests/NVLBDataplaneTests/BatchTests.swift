import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// `processBatch` (classify all, prefetch, finish all) decides exactly as `process` frame by
/// frame, including flows whose packets share a batch.
@Suite struct BatchTests {
    /// Requests, the DIPs' replies, follow-ups of the same flows, ARP and drops, interleaved.
    static func mixedFrames() -> [[UInt8]] {
        let (configuration, clients) = TestPolicies.exampleWithClients(8)
        let oracle = Harness(configuration, flowCapacity: 4096)
        var frames: [[UInt8]] = []
        for i in 0..<120 {
            let port = UInt16(30_000 + i)
            let request: [UInt8] =
                switch i % 4 {
                case 0: Actors.external(sport: port)
                case 1: Traffic.externalUDP(sport: port)
                case 2: clients[i % clients.count].tcp(to: Actors.appVIP, sport: port, dport: 8080)
                default: Actors.external(dst: Actors.redVIP, sport: port, dport: 443)
                }
            frames.append(request)
            if let reply = Traffic.reply(to: oracle.run(request).output) { frames.append(reply) }
            if i % 3 == 0 { frames.append(request) }  // a retransmission in the same batch
            if i % 10 == 0 {
                frames.append(
                    FrameBuilder.arpRequest(
                        senderMAC: Actors.host1MAC, senderIP: TestPolicies.ip("192.168.6.4"), targetIP: Actors.lbPA))
                frames.append(Array(request.prefix(30)))  // malformed
                frames.append(Actors.external(dport: 81))  // no_rule
            }
        }
        return frames
    }

    @Test(arguments: [1, 7, 32, 256])
    func batchMatchesSingleFrames(batchSize: Int) {
        let (configuration, _) = TestPolicies.exampleWithClients(8)
        let frames = Self.mixedFrames()
        let single = Harness(configuration, flowCapacity: 4096)
        let expected = frames.map { single.run($0) }

        let batched = Harness(configuration, flowCapacity: 4096)
        let stride = Packet.headroom + 2048
        let memory = UnsafeMutableRawPointer.allocate(byteCount: stride * batchSize, alignment: 64)
        defer { memory.deallocate() }
        let packets = UnsafeMutablePointer<Packet>.allocate(capacity: batchSize)
        defer { packets.deallocate() }
        let verdicts = UnsafeMutablePointer<Verdict>.allocate(capacity: batchSize)
        defer { verdicts.deallocate() }
        var index = 0
        while index < frames.count {
            let count = min(batchSize, frames.count - index)
            for j in 0..<count {
                let base = memory + j * stride
                frames[index + j].withUnsafeBytes {
                    (base + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
                }
                (packets + j).initialize(
                    to: Packet(base: base, start: Packet.headroom, length: frames[index + j].count))
            }
            batched.worker.processBatch(
                packets, count: count, verdicts: verdicts, snapshot: batched.snapshot, now: 1000)
            for j in 0..<count {
                let want = expected[index + j]
                #expect(verdicts[j] == want.verdict, "frame \(index + j)")
                if case .drop = verdicts[j] { continue }
                let output = Array(UnsafeRawBufferPointer(start: packets[j].bytes, count: packets[j].length))
                #expect(output == want.output, "frame \(index + j)")
            }
            index += count
        }
        #expect(batched.counters == single.counters)
    }
}
