import NVLBBalancing
import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import PropertyBased
import Testing

/// Every valid frame kind cut at every length, and randomly mutated: the pipeline never
/// crashes, never reads past the frame, and every frame ends in exactly one counted outcome.
@Suite struct TruncationTests {
    /// A valid frame and what nvlb does with it whole (goldenExample policy, fresh worker).
    struct Kind: CustomTestStringConvertible, Sendable {
        var name: String
        var frame: [UInt8]
        var verdict: Verdict
        var testDescription: String { name }
    }

    static let kinds: [Kind] = {
        let client = TenantVM.exampleClient
        let internalUDPInner = FrameBuilder.udp(
            srcMAC: TestPolicies.mac("00:15:5d:01:06:21"), dstMAC: Actors.blueGateway,
            src: TestPolicies.ip("10.1.6.21"),
            dst: Actors.client, sport: 5353, dport: 40000, payload: [9, 8, 7])
        return [
            Kind(name: "external request", frame: GoldenFrames.externalRequestIn, verdict: .forward(.underlay)),
            Kind(name: "external reply", frame: GoldenFrames.externalReplyIn, verdict: .forward(.external)),
            Kind(name: "internal request", frame: GoldenFrames.internalRequestIn, verdict: .forward(.underlay)),
            Kind(name: "internal reply", frame: GoldenFrames.internalReplyIn, verdict: .forward(.underlay)),
            Kind(
                name: "external UDP request", frame: Traffic.externalUDP(payload: [1, 2, 3, 4, 5]),
                verdict: .forward(.underlay)),
            Kind(
                name: "external UDP reply",
                frame: Actors.fromHost(hostPA: TestPolicies.ip("192.168.6.4"), vsid: 5001, inner: internalUDPInner),
                verdict: .forward(.external)),
            Kind(
                name: "internal request with payload",
                frame: client.tcp(
                    to: Actors.appVIP, sport: 50001, dport: 8080, flags: [.ack, .psh], payload: Array(0..<100)),
                verdict: .forward(.underlay)),
            Kind(
                name: "ARP request for the PA",
                frame: FrameBuilder.arpRequest(
                    senderMAC: Actors.host1MAC, senderIP: TestPolicies.ip("192.168.6.4"), targetIP: Actors.lbPA),
                verdict: .answer(.underlay)),
            Kind(
                name: "ARP request for a VIP",
                frame: FrameBuilder.arpRequest(
                    senderMAC: Actors.routerMAC, senderIP: TestPolicies.ip("131.107.10.1"), targetIP: Actors.blueVIP),
                verdict: .answer(.external)),
            Kind(
                name: "NVGRE with outer IP options",
                frame: Traffic.nvgre(
                    inner: Array(GoldenFrames.internalRequestIn[42...]), hostPA: client.pa, vsid: 5002,
                    options: [0x94, 0x04, 0x00, 0x00, 0x01, 0x01, 0x01, 0x00]),
                verdict: .forward(.underlay)),
            Kind(
                name: "padded external request",
                frame: FrameBuilder.padded(GoldenFrames.externalRequestIn),
                verdict: .forward(.underlay)),
        ]
    }()

    @Test(arguments: kinds)
    func everyTruncationIsDroppedAndCounted(_ kind: Kind) {
        let whole = Harness(TestPolicies.goldenExample())
        #expect(whole.run(kind.frame).verdict == kind.verdict, "the whole frame")

        let harness = Harness(TestPolicies.goldenExample())
        // Padding beyond the IPv4 total length is not needed: cutting it off is no truncation.
        let needed = Self.meaningfulLength(kind.frame)
        for length in 0..<kind.frame.count {
            let cut = Array(kind.frame.prefix(length))
            let zeros = harness.run(cut, fill: 0x00)
            let ones = harness.run(cut, fill: 0xff)
            #expect(
                zeros.verdict == ones.verdict, "\(kind.name) cut at \(length): result depends on bytes past the end")
            if length < needed {
                #expect(zeros.verdict == .drop(.malformed), "\(kind.name) cut at \(length)")
            } else {
                #expect(zeros.verdict == kind.verdict, "\(kind.name) cut at \(length) (only padding removed)")
            }
        }
        let c = harness.counters
        #expect(c.packetsIn == UInt64(2 * kind.frame.count))
        #expect(c.packetsIn == c.packetsOut + c.answered + c.dropped)
        #expect(c.dropped == c.drops.filter { $0.key != .flowTableFull }.values.reduce(0, +))
    }

    /// Bytes up to the end of the outer IPv4 datagram or the ARP packet.
    static func meaningfulLength(_ frame: [UInt8]) -> Int {
        guard let parsed = ParsedFrame(frame) else { return frame.count }
        if parsed.arp != nil { return EthernetHeader.size + ARPHeader.size }
        return frame.count - parsed.trailer.count
    }

    @Test func randomMutationsNeverCrashAndEndInOneOutcome() async {
        let kinds = Self.kinds
        // Snapshots are costly to compile (Maglev tables): one worker per policy, reused.
        let harnesses = [Harness(TestPolicies.goldenExample()), Harness(TestPolicies.example())]
        await propertyCheck(
            count: 1500, input: Gen.int(in: 0...(kinds.count - 1)), Gen.int(in: 1...6), Gen.uint64(), Gen.bool()
        ) { kindIndex, mutations, seed, rich in
            var rng = SplitMix64(seed: seed)
            var frame = kinds[kindIndex].frame
            for _ in 0..<mutations {
                let offset = Int.random(in: 0..<frame.count, using: &rng)
                switch UInt8.random(in: 0...3, using: &rng) {
                case 0: frame[offset] = UInt8.random(in: 0...255, using: &rng)
                case 1: frame[offset] ^= 1 << UInt8.random(in: 0...7, using: &rng)
                case 2: frame[offset] = 0
                default: frame = Array(frame.prefix(max(offset, 1)))  // and cut
                }
                if frame.count <= 1 { break }
            }
            let harness = harnesses[rich ? 1 : 0]
            let before = harness.counters
            let zeros = harness.run(frame, fill: 0x00)
            let ones = harness.run(frame, fill: 0xff)
            #expect(zeros.verdict == ones.verdict && zeros.output == ones.output, "reads past the frame")
            let c = harness.counters
            #expect(c.packetsIn - before.packetsIn == 2)
            #expect(c.packetsIn == c.packetsOut + c.answered + c.dropped)
            switch zeros.verdict {
            case .forward:
                #expect(c.packetsOut - before.packetsOut == 2)
                #expect(!zeros.output.isEmpty && zeros.output.count <= frame.count + 42)
            case .forwardFragments:
                Issue.record("a truncated frame was fragmented")
            case .answer:
                #expect(c.answered - before.answered == 2)
                #expect(zeros.output.count == 42)
            case .consumed:
                #expect(c.answered - before.answered == 2)
            case .drop(let reason):
                #expect(c.dropped - before.dropped == 2)
                #expect(c[reason] - before[reason] == 2)
            }
        }
    }
}
