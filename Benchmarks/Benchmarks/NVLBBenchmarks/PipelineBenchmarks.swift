import Benchmark
import NVLBDataplane
import NVLBTraffic
import NVLBTestSupport
import NVLBPolicy
import NVLBWire

/// One kind of frame through `DataplaneWorker.process`, in steady state: the flow the
/// frame belongs to exists (primed in setup), as for every packet after a connection's first.
final class SingleFrameFixture {
    let worker: WorkerFixture
    let frame: RawFrame
    /// True when each measured iteration runs in its own second of the flow clock: for answers
    /// limited per second (`underlay.icmp_rate`, default 1,000 = the operations of one
    /// iteration), so that every operation is answered, never dropped over the limit.
    let advancesClock: Bool
    private var second = benchmarkNow

    init(frame: [UInt8], priming: [[UInt8]], expected: Verdict, advancesClock: Bool = false) {
        self.advancesClock = advancesClock
        worker = WorkerFixture(configuration: TestPolicies.goldenExample(), flowCapacity: 1_024)
        for earlier in priming { worker.run(earlier) }
        let first = worker.run(frame)
        precondition(first.verdict == expected, "pipeline fixture: got \(first.verdict), expected \(expected)")
        // The steady state: the second time, too (the flow now exists).
        let second = worker.run(frame)
        precondition(second.verdict == expected && second.output == first.output, "pipeline fixture not steady")
        self.frame = RawFrame(frame)
    }

    /// The flow clock of the next measured iteration.
    @inline(__always)
    func now() -> UInt32 {
        guard advancesClock else { return benchmarkNow }
        second &+= 1
        return second
    }
}

/// Frames of `flows` connections (requests and replies of each, docs/packets.md "Packet paths", plus ARP and
/// `no_vip` drops), shuffled, cut into batches of `DataplaneWorker.maximumBatch`.
/// Setup runs every frame once so all flows exist; the benchmark cycles through the batches.
final class BatchFixture {
    static let batch = DataplaneWorker.maximumBatch
    static let frameStride = 128
    static let bufferStride = 256

    let worker: WorkerFixture
    let frames: UnsafeMutableRawPointer
    let lengths: UnsafeMutablePointer<Int>
    let frameCount: Int
    let batchCount: Int
    let buffers: UnsafeMutableRawPointer
    let packets: UnsafeMutablePointer<Packet>
    let verdicts: UnsafeMutablePointer<Verdict>
    var cursor = 0
    /// Verdict counts of one pass over all frames (checked in setup).
    private(set) var forwarded = 0
    private(set) var answered = 0
    private(set) var dropped = 0

    init(flows: Int, flowCapacity: Int, hugePages: Bool) {
        let worker = WorkerFixture(
            configuration: TestPolicies.example(), flowCapacity: flowCapacity, hugePages: hugePages)
        self.worker = worker
        let internalFlows = min(flows / 4, 60_000)
        let externalFlows = flows - internalFlows

        // Requests from templates patched per flow (RFC 1624 updates keep checksums right).
        let templates: [(frame: [UInt8], ip: Int, transport: Int, udp: Bool)] = [
            (
                FrameBuilder.tcp(
                    srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client,
                    dst: Actors.blueVIP, sport: 1000, dport: 80, flags: .ack), 14, 34, false
            ),
            (
                FrameBuilder.tcp(
                    srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client,
                    dst: Actors.redVIP, sport: 1000, dport: 443, flags: .ack), 14, 34, false
            ),
            (
                FrameBuilder.udp(
                    srcMAC: Actors.routerMAC, dstMAC: Actors.externalMAC, src: Actors.client,
                    dst: Actors.blueVIP, sport: 1000, dport: 53, payload: [UInt8](repeating: 7, count: 16)),
                14, 34, true
            ),
        ]
        let internalTemplate = FrameBuilder.encapsulate(
            inner: FrameBuilder.tcp(
                srcMAC: Actors.clientVMMAC, dstMAC: Actors.blueGateway, src: Actors.clientVM, dst: Actors.appVIP,
                sport: 1000, dport: 8080, flags: .ack),
            outerSourceMAC: Actors.clientHostMAC, outerDestinationMAC: Actors.lbMAC, outerSource: Actors.clientHostPA,
            outerDestination: Actors.lbPA, vsid: 5002, flowID: 0x33)

        var all: [[UInt8]] = []
        all.reserveCapacity(2 * flows + flows / 25 + Self.batch)
        func add(request: [UInt8]) {
            let out = worker.run(request)
            precondition(out.verdict == .forward(.underlay), "batch fixture: request gave \(out.verdict)")
            all.append(request)
            all.append(Self.reply(toForwardedRequest: out.output))
        }
        for i in 0..<externalFlows {
            let t = templates[i % templates.count]
            var frame = t.frame
            let ip = UInt32(0x6440_0000) &+ UInt32(i >> 6)
            let port = UInt16(32_768 + (i & 63) * 401)
            Self.patchSource(&frame, ip: t.ip, transport: t.transport, udp: t.udp, address: ip, port: port)
            add(request: frame)
        }
        for i in 0..<internalFlows {
            var frame = internalTemplate
            Self.patchSource(&frame, ip: 56, transport: 76, udp: false, address: nil, port: UInt16(1024 + i))
            add(request: frame)
        }
        // 2 % answered or dropped in the first stage: ARP for the PA, TCP to no VIP.
        for i in 0..<max(1, flows / 50) {
            all.append(i % 2 == 0 ? BenchFrames.arpRequest : BenchFrames.noVIP)
        }
        var generator = Xoshiro256(seed: 0x6e76_6c62)
        all.shuffle(using: &generator)
        while all.count % Self.batch != 0 { all.append(all[all.count % Self.batch]) }

        frameCount = all.count
        batchCount = frameCount / Self.batch
        let frames = UnsafeMutableRawPointer.allocate(byteCount: frameCount * Self.frameStride, alignment: 64)
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: frameCount)
        self.frames = frames
        self.lengths = lengths
        for (i, frame) in all.enumerated() {
            precondition(frame.count <= Self.frameStride)
            frame.withUnsafeBytes {
                (frames + i * Self.frameStride).copyMemory(from: $0.baseAddress!, byteCount: $0.count)
            }
            (lengths + i).initialize(to: frame.count)
        }
        buffers = .allocate(byteCount: Self.batch * Self.bufferStride, alignment: 64)
        packets = .allocate(capacity: Self.batch)
        packets.initialize(repeating: Packet(base: buffers, start: Packet.headroom, length: 0), count: Self.batch)
        verdicts = .allocate(capacity: Self.batch)
        verdicts.initialize(repeating: .drop(.malformed), count: Self.batch)

        // One pass over every batch: replies establish the flows; count the outcomes.
        for _ in 0..<batchCount {
            runBatch()
            for i in 0..<Self.batch {
                switch verdicts[i] {
                case .forward, .forwardFragments: forwarded += 1
                case .answer, .consumed: answered += 1
                case .drop: dropped += 1
                }
            }
        }
        precondition(cursor == 0)
        precondition(forwarded >= 2 * flows, "batch fixture: only \(forwarded) of \(2 * flows) flow frames forwarded")
    }

    deinit {
        frames.deallocate()
        lengths.deallocate()
        buffers.deallocate()
        packets.deallocate()
        verdicts.deallocate()
    }

    /// Receives the next batch (copies each frame behind the headroom) and processes it.
    @inline(__always)
    func runBatch() {
        let first = cursor &* Self.batch
        for i in 0..<Self.batch {
            let length = lengths[first &+ i]
            let buffer = buffers + i &* Self.bufferStride
            (buffer + Packet.headroom).copyMemory(from: frames + (first &+ i) &* Self.frameStride, byteCount: length)
            packets[i] = Packet(base: buffer, start: Packet.headroom, length: length)
        }
        worker.worker.pointee.processBatch(
            packets, count: Self.batch, verdicts: verdicts, snapshot: worker.snapshot, now: benchmarkNow)
        cursor &+= 1
        if cursor == batchCount { cursor = 0 }
    }

    /// Sets the IPv4 source (unless nil) and the transport source port, updating checksums.
    static func patchSource(
        _ frame: inout [UInt8], ip: Int, transport: Int, udp: Bool, address: UInt32?, port: UInt16
    ) {
        frame.withUnsafeMutableBytes { buffer in
            let p = buffer.baseAddress!
            let header = IPv4Header(p + ip)
            if let address {
                let old = header.source.rawValue
                header.source = IPv4Address(rawValue: address)
                header.checksum = Checksum.updated(header.checksum, replacing32: old, with32: address)
                if udp {
                    let u = UDPHeader(p + transport)
                    u.checksum = Checksum.updatedUDP(u.checksum, replacing32: old, with32: address)
                } else {
                    let t = TCPHeader(p + transport)
                    t.checksum = Checksum.updated(t.checksum, replacing32: old, with32: address)
                }
            }
            if udp {
                let u = UDPHeader(p + transport)
                u.checksum = Checksum.updatedUDP(u.checksum, replacing: u.sourcePort, with: port)
                u.sourcePort = port
            } else {
                let t = TCPHeader(p + transport)
                t.checksum = Checksum.updated(t.checksum, replacing: t.sourcePort, with: port)
                t.sourcePort = port
            }
        }
    }

    /// The DIP's answer to a request nvlb forwarded: the forwarded NVGRE frame with outer
    /// MACs, outer IPs, inner MACs, inner IPs and ports swapped (checksums stay valid:
    /// one's-complement sums do not depend on word order).
    static func reply(toForwardedRequest output: [UInt8]) -> [UInt8] {
        var frame = output
        frame.withUnsafeMutableBytes { buffer in
            let p = buffer.baseAddress!
            func exchange(_ a: Int, _ b: Int, _ count: Int) {
                for k in 0..<count {
                    let x = p.load(fromByteOffset: a + k, as: UInt8.self)
                    p.storeBytes(of: p.load(fromByteOffset: b + k, as: UInt8.self), toByteOffset: a + k, as: UInt8.self)
                    p.storeBytes(of: x, toByteOffset: b + k, as: UInt8.self)
                }
            }
            exchange(0, 6, 6)  // outer Ethernet
            exchange(14 + 12, 14 + 16, 4)  // outer IPv4 addresses
            let inner = 14 + 20 + 8
            exchange(inner, inner + 6, 6)  // inner Ethernet
            exchange(inner + 14 + 12, inner + 14 + 16, 4)  // inner IPv4 addresses
            exchange(inner + 34, inner + 36, 2)  // ports
        }
        return frame
    }
}

func pipelineBenchmarks() {
    // The packet paths and ARP of docs/packets.md, and a drop, one packet kind at a time, each copied into the receive
    // buffer behind the headroom and processed, as the receive loop does.
    // Then the paths of docs/packets.md "ICMP and path MTU" (frames of `ICMPGolden`): MSS clamping of a SYN and a
    // SYN-ACK, "fragmentation needed" for a too-big DF request, fragmentation of a too-big DF-clear datagram
    // (one extra frame into the worker's fragment buffer), an echo reply from a VIP, and ICMP errors following
    // their flow both ways.
    let kinds: [(name: String, frame: [UInt8], priming: [[UInt8]], expected: Verdict, advancesClock: Bool)] = [
        ("ExternalRequest", GoldenFrames.externalRequestIn, [], .forward(.underlay), false),
        ("ExternalReply", GoldenFrames.externalReplyIn, [GoldenFrames.externalRequestIn], .forward(.external), false),
        ("InternalRequest", GoldenFrames.internalRequestIn, [], .forward(.underlay), false),
        ("InternalReply", GoldenFrames.internalReplyIn, [GoldenFrames.internalRequestIn], .forward(.underlay), false),
        ("ARPAnswer", BenchFrames.arpRequest, [], .answer(.underlay), false),
        ("DropNoVIP", BenchFrames.noVIP, [], .drop(.noVIP), false),
        ("MSSClampSYN", ICMPGolden.externalSYNIn, [], .forward(.underlay), false),
        ("MSSClampSYNACK", ICMPGolden.externalSYNACKIn, [ICMPGolden.externalSYNIn], .forward(.external), false),
        ("FragmentationNeeded", ICMPGolden.externalBigDFIn, [], .answer(.external), true),
        ("Fragment", ICMPGolden.externalBigIn, [], .forwardFragments(.underlay, first: 0, count: 1), false),
        ("EchoVIP", ICMPGolden.echoVIPIn, [], .answer(.external), false),
        ("ICMPErrorToDIP", ICMPGolden.routerErrorIn, [ICMPGolden.externalACKIn], .forward(.underlay), false),
        ("ICMPErrorToClient", ICMPGolden.dipErrorIn, [ICMPGolden.externalUDPIn], .forward(.external), false),
    ]
    for kind in kinds {
        Benchmark("Pipeline.\(kind.name)", configuration: Configurations.perOperation) {
            (benchmark: Benchmark, fixture: SingleFrameFixture) in
            let worker = fixture.worker.worker
            let snapshot = fixture.worker.snapshot
            let buffer = fixture.worker.buffer
            let frame = UnsafeRawPointer(fixture.frame.bytes)
            let length = fixture.frame.count
            let now = fixture.now()
            for _ in benchmark.scaledIterations {
                (buffer + Packet.headroom).copyMemory(from: frame, byteCount: length)
                var packet = Packet(base: buffer, start: Packet.headroom, length: length)
                let verdict = worker.pointee.process(&packet, snapshot: snapshot, now: now)
                blackHole(verdict)
                blackHole(packet.start &+ packet.length)
            }
        } setup: {
            SingleFrameFixture(
                frame: kind.frame, priming: kind.priming, expected: kind.expected, advancesClock: kind.advancesClock)
        }
    }

    // processBatch over 256 frames of mixed kinds and many flows (README.md "Performance": ≥ 25 Mpps per
    // worker with 10,000 flows, ≥ 15 Mpps with 1,000,000). One operation = 256 packets.
    let sizes: [(name: String, flows: Int, capacity: Int, hugePages: Bool)] = [
        ("10kFlows", 10_000, 16_384, false),
        ("1MFlows", 1_000_000, 2_097_152, false),
        ("1MFlows.HugePages", 1_000_000, 2_097_152, true),
    ]
    for size in sizes {
        Benchmark("Pipeline.Batch256.\(size.name)", configuration: Configurations.perBatch) {
            (benchmark: Benchmark, fixture: BatchFixture) in
            for _ in benchmark.scaledIterations {
                fixture.runBatch()
            }
            blackHole(fixture.verdicts[0])
        } setup: {
            BatchFixture(flows: size.flows, flowCapacity: size.capacity, hugePages: size.hugePages)
        }
    }
}
