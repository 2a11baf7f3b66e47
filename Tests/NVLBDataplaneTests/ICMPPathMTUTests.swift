import NVLBDataplane
import NVLBPolicy
import NVLBTestSupport
import NVLBWire
import Testing

/// docs/packets.md "ICMP and path MTU" byte for byte, with the frames of `ICMPGolden`.
@Suite struct ICMPPathMTUTests {
    /// The extra frames of the last `.forwardFragments` verdict.
    static func fragments(_ harness: Harness, _ verdict: Verdict) -> [[UInt8]] {
        guard case .forwardFragments(_, let first, let count) = verdict else { return [] }
        return (Int(first)..<(Int(first) + Int(count))).map { index in
            let frame = harness.worker.fragments.frame(index)
            return Array(UnsafeRawBufferPointer(start: frame.bytes, count: frame.length))
        }
    }

    /// Frames compared with the first differing byte in the message (not thousands of bytes).
    static func same(_ actual: [UInt8], _ expected: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        guard actual != expected else { return }
        var index = 0
        while index < min(actual.count, expected.count) && actual[index] == expected[index] { index += 1 }
        let got: [UInt8] = Array(actual[index..<min(actual.count, index + 8)])
        let want: [UInt8] = Array(expected[index..<min(expected.count, index + 8)])
        let message = "frames differ at byte \(index) (lengths \(actual.count), \(expected.count)): \(got) vs \(want)"
        Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
    }

    /// The counters add up: `packets_in = packets_out − fragments_out + answered + dropped`.
    static func balanced(_ c: CounterSnapshot) -> Bool {
        c.packetsIn == c.packetsOut - c.fragmentsOut + c.answered + c.dropped
    }

    // MARK: - MSS clamping

    @Test func clampsSYNAndSYNACKInBothDirections() {
        let harness = Harness(TestPolicies.goldenExample())
        let syn = harness.run(ICMPGolden.externalSYNIn)
        #expect(syn.verdict == .forward(.underlay))
        Self.same(syn.output, ICMPGolden.externalSYNOut)
        let synACK = harness.run(ICMPGolden.externalSYNACKIn)
        #expect(synACK.verdict == .forward(.external))
        Self.same(synACK.output, ICMPGolden.externalSYNACKOut)
        let internalSYN = harness.run(ICMPGolden.internalSYNIn)
        #expect(internalSYN.verdict == .forward(.underlay))
        Self.same(internalSYN.output, ICMPGolden.internalSYNOut)
        let internalSYNACK = harness.run(ICMPGolden.internalSYNACKIn)
        #expect(internalSYNACK.verdict == .forward(.underlay))
        Self.same(internalSYNACK.output, ICMPGolden.internalSYNACKOut)
        #expect(harness.counters.mssClamped == 4)
        for frame in [syn.output, synACK.output, internalSYN.output, internalSYNACK.output] {
            #expect(ParsedFrame(frame)?.checksumsValid == true)
        }
    }

    @Test func smallerMSSOffAndMalformedOptionsPassUnchanged() throws {
        // MSS 1380 < 1418: unchanged (only the NAT rewrite).
        var small = ICMPGolden.externalSYNIn
        small[56...57] = [0x05, 0x64]
        fixTCPChecksum(&small, ip: 14)
        let harness = Harness(TestPolicies.goldenExample())
        let out = harness.run(small).output
        #expect(Array(out[98...99]) == [0x05, 0x64])
        #expect(ParsedFrame(out)?.checksumsValid == true)

        // An option whose length runs past the header: left as it is, never read past it.
        var malformed = ICMPGolden.externalSYNIn
        malformed[54...57] = [0x01, 0x02, 0x09, 0x05]  // NOP, then "MSS" of length 9 in 7 bytes
        fixTCPChecksum(&malformed, ip: 14)
        let forwarded = harness.run(malformed).output
        #expect(Array(forwarded[96...103]) == Array(malformed[54...61]))
        #expect(ParsedFrame(forwarded)?.checksumsValid == true)

        // MSS option of length 3: malformed, unchanged.
        var badLength = ICMPGolden.externalSYNIn
        badLength[55] = 3
        fixTCPChecksum(&badLength, ip: 14)
        #expect(Array(harness.run(badLength).output[96...103]) == Array(badLength[54...61]))
        #expect(harness.counters.mssClamped == 0)

        // mss_clamp: off.
        var configuration = TestPolicies.goldenExample()
        configuration.underlay.mssClamp = .off
        let off = Harness(configuration)
        #expect(Array(off.run(ICMPGolden.externalSYNIn).output[98...99]) == [0x05, 0xb4])
        // mss_clamp: 1200.
        configuration.underlay.mssClamp = .value(1200)
        let fixed = Harness(configuration)
        let clamped = fixed.run(ICMPGolden.externalSYNIn).output
        #expect(Array(clamped[98...99]) == [0x04, 0xb0])
        #expect(ParsedFrame(clamped)?.checksumsValid == true)
    }

    /// Recomputes the TCP checksum of the IPv4 packet at `ip` (test input preparation).
    func fixTCPChecksum(_ frame: inout [UInt8], ip: Int) {
        let headerLength = Int(frame[ip] & 0x0F) * 4
        let total = Int(frame[ip + 2]) << 8 | Int(frame[ip + 3])
        let tcp = ip + headerLength
        frame[tcp + 16] = 0
        frame[tcp + 17] = 0
        var sum = 0
        var words =
            Array(frame[(ip + 12)..<(ip + 20)]) + [
                0, 6, UInt8((total - headerLength) >> 8),
                UInt8((total - headerLength) & 0xFF),
            ] + Array(frame[tcp..<(ip + total)])
        if words.count % 2 == 1 { words.append(0) }
        for i in stride(from: 0, to: words.count, by: 2) { sum += Int(words[i]) << 8 | Int(words[i + 1]) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) + (sum >> 16) }
        let checksum = ~UInt16(sum)
        frame[tcp + 16] = UInt8(checksum >> 8)
        frame[tcp + 17] = UInt8(checksum & 0xFF)
    }

    // MARK: - Too big

    @Test func fragmentationNeededExternal() {
        let harness = Harness(TestPolicies.goldenExample())
        let result = harness.run(ICMPGolden.externalBigDFIn)
        #expect(result.verdict == .answer(.external))
        Self.same(result.output, ICMPGolden.externalFragNeededOut)
        let counters = harness.counters
        #expect(counters.answered == 1)
        #expect(counters.fragmentationNeeded == 1)
        #expect(counters.flowsCreated == 0)
        #expect(Self.balanced(counters))
    }

    @Test func fragmentationNeededInternal() {
        let harness = Harness(TestPolicies.goldenExample())
        let result = harness.run(ICMPGolden.internalBigDFIn)
        #expect(result.verdict == .answer(.underlay))
        Self.same(result.output, ICMPGolden.internalFragNeededOut)
        #expect(harness.counters.fragmentationNeeded == 1)
    }

    @Test func fragmentationNeededIsRateLimitedPerSecond() {
        var configuration = TestPolicies.goldenExample()
        configuration.underlay.icmpRate = 2
        let harness = Harness(configuration)
        #expect(harness.run(ICMPGolden.externalBigDFIn, now: 100).verdict == .answer(.external))
        #expect(harness.run(ICMPGolden.externalBigDFIn, now: 100).verdict == .answer(.external))
        #expect(harness.run(ICMPGolden.externalBigDFIn, now: 100).verdict == .drop(.tooBig))
        #expect(harness.run(ICMPGolden.internalBigDFIn, now: 100).verdict == .drop(.tooBig))
        // The next second refills the bucket.
        Self.same(harness.run(ICMPGolden.externalBigDFIn, now: 101).output, ICMPGolden.externalFragNeededOut)
        let counters = harness.counters
        #expect(counters.fragmentationNeeded == 3)
        #expect(counters[.tooBig] == 2)
        #expect(Self.balanced(counters))

        configuration.underlay.icmpRate = 0
        let silent = Harness(configuration)
        #expect(silent.run(ICMPGolden.externalBigDFIn).verdict == .drop(.tooBig))
    }

    @Test func fragmentsDFClearDatagrams() {
        let harness = Harness(TestPolicies.goldenExample())
        let result = harness.run(ICMPGolden.externalBigIn)
        #expect(result.verdict == .forwardFragments(.underlay, first: 0, count: 1))
        Self.same(result.output, ICMPGolden.fragment1Out)
        Self.same(Self.fragments(harness, result.verdict).first ?? [], ICMPGolden.fragment2Out)
        let counters = harness.counters
        #expect(counters.packetsOut == 2)
        #expect(counters.fragmentsOut == 1)
        #expect(counters.backends["blue-web"]?["5001/10.1.6.21"] == 1)
        #expect(Self.balanced(counters))
        // Each fragment fits the underlay MTU once encapsulated (frame − Ethernet ≤ 1500).
        #expect(result.output.count - 14 <= 1500)
    }

    @Test func fragmentsCarryOnlyCopiedOptions() {
        let harness = Harness(TestPolicies.goldenExample())
        let result = harness.run(ICMPGolden.optionsBigIn)
        #expect(result.verdict == .forwardFragments(.underlay, first: 0, count: 1))
        Self.same(result.output, ICMPGolden.optionsFragment1Out)
        Self.same(Self.fragments(harness, result.verdict).first ?? [], ICMPGolden.optionsFragment2Out)
    }

    @Test func fragmentsAtTheSmallestMTU() throws {
        // 576: inner datagrams of at most 534 bytes, 512 bytes of data per fragment.
        var configuration = TestPolicies.goldenExample()
        configuration.underlay.mtu = 576
        let harness = Harness(configuration)
        let result = harness.run(ICMPGolden.externalBigIn)
        let extra = Self.fragments(harness, result.verdict)
        #expect(extra.count == 2)
        var data: [UInt8] = []
        var expectedOffset = 0
        for (index, frame) in ([result.output] + extra).enumerated() {
            let parsed = try #require(ParsedFrame(frame))
            #expect(parsed.checksumsValid)
            #expect(parsed.ipv4?.totalLength ?? 0 <= 576)
            #expect(parsed.ipv4?.destination == TestPolicies.ip("192.168.6.4"))
            #expect(parsed.gre?.vsid == 5001)
            let inner = try #require(parsed.inner?.ipv4)
            #expect(Int(inner.fragmentOffset) * 8 == expectedOffset)
            #expect(inner.moreFragments == (index < 2))
            #expect(inner.identification == 0x4243)
            #expect(inner.destination == TestPolicies.ip("10.1.6.21"))
            #expect(inner.headerChecksumValid)
            let body = Array(frame[(14 + 20 + 8 + 14 + 20)...])
            data += body
            expectedOffset += body.count
        }
        // Reassembled: the translated UDP datagram (5000 → 5353) and the payload.
        #expect(data.count == 1480)
        #expect(Array(data[0...3]) == [0x13, 0x88, 0x14, 0xe9])
        #expect(Array(data[8...]) == ICMPGolden.pattern(1472))
    }

    // MARK: - Echo

    @Test func echoRepliesFromThePAAnExternalVIPAndACAVIP() {
        let harness = Harness(TestPolicies.goldenExample())
        let pa = harness.run(ICMPGolden.echoPAIn)
        #expect(pa.verdict == .answer(.underlay))
        Self.same(pa.output, ICMPGolden.echoPAOut)
        let vip = harness.run(ICMPGolden.echoVIPIn)
        #expect(vip.verdict == .answer(.external))
        Self.same(vip.output, ICMPGolden.echoVIPOut)
        let caVIP = harness.run(ICMPGolden.echoCAVIPIn)
        #expect(caVIP.verdict == .answer(.underlay))
        Self.same(caVIP.output, ICMPGolden.echoCAVIPOut)
        let counters = harness.counters
        #expect(counters.answered == 3)
        #expect(counters.echoReplies == 3)
        #expect(counters.flowsCreated == 0)
    }

    @Test func echoToAnUnknownAddressOrFromASpoofedClientIsDropped() {
        let harness = Harness(TestPolicies.goldenExample())
        var unknown = ICMPGolden.echoVIPIn
        unknown[33] = 11  // 131.107.10.11: no VIP
        #expect(harness.run(unknown).verdict == .drop(.noVIP))
        var spoofed = ICMPGolden.echoCAVIPIn
        spoofed[11] = 0x99  // outer source MAC ok, but inner source MAC not the client's record
        spoofed[53] = 0x99
        #expect(harness.run(spoofed).verdict == .drop(.spoofed))
    }

    // MARK: - ICMP errors follow their flow

    @Test func errorFromTheInternetGoesToTheFlowsDIP() {
        let harness = Harness(TestPolicies.goldenExample())
        #expect(harness.run(ICMPGolden.externalACKIn).verdict == .forward(.underlay))
        let error = harness.run(ICMPGolden.routerErrorIn)
        #expect(error.verdict == .forward(.underlay))
        Self.same(error.output, ICMPGolden.routerErrorOut)
        let short = harness.run(ICMPGolden.routerShortErrorIn)
        #expect(short.verdict == .forward(.underlay))
        Self.same(short.output, ICMPGolden.routerShortErrorOut)
        let counters = harness.counters
        #expect(counters.icmpErrorsForwarded == 2)
        #expect(counters.flowsCreated == 1)
        #expect(Self.balanced(counters))
    }

    @Test func errorFromTheInternetWithoutStateFollowsTheMaglevChoice() {
        // Another instance saw the flow (ECMP): the DIP is the one a request would get.
        let harness = Harness(TestPolicies.goldenExample())
        Self.same(harness.run(ICMPGolden.routerErrorIn).output, ICMPGolden.routerErrorOut)
        #expect(harness.counters.flowsCreated == 0)
    }

    @Test func errorFromADIPGoesToTheExternalClient() {
        let harness = Harness(TestPolicies.goldenExample())
        #expect(harness.run(ICMPGolden.externalUDPIn).verdict == .forward(.underlay))
        let error = harness.run(ICMPGolden.dipErrorIn)
        #expect(error.verdict == .forward(.external))
        Self.same(error.output, ICMPGolden.dipErrorOut)
        // Without state: rebuilt from policy as a reply is.
        let fresh = Harness(TestPolicies.goldenExample())
        Self.same(fresh.run(ICMPGolden.dipErrorIn).output, ICMPGolden.dipErrorOut)
    }

    @Test func errorFromADIPGoesToTheInternalClient() {
        let harness = Harness(TestPolicies.goldenExample())
        let error = harness.run(ICMPGolden.dipInternalErrorIn)
        #expect(error.verdict == .forward(.underlay))
        Self.same(error.output, ICMPGolden.dipInternalErrorOut)
    }

    @Test func errorFromAnInternalClientGoesToTheFlowsDIP() {
        let harness = Harness(TestPolicies.goldenExample())
        #expect(harness.run(ICMPGolden.internalSYNIn).verdict == .forward(.underlay))
        let error = harness.run(ICMPGolden.clientInternalErrorIn)
        #expect(error.verdict == .forward(.underlay))
        Self.same(error.output, ICMPGolden.clientInternalErrorOut)
        // A client that is not who its lookup record says: spoofed.
        var spoofed = ICMPGolden.clientInternalErrorIn
        spoofed[29] = 9  // outer source 192.168.6.9: not the client's host
        #expect(harness.run(spoofed).verdict == .drop(.spoofed))
    }

    @Test func errorsWithoutFlowMalformedQuotesAndOtherICMP() {
        let harness = Harness(TestPolicies.goldenExample())
        #expect(harness.run(ICMPGolden.routerErrorNoRuleIn).verdict == .drop(.noFlow))
        #expect(harness.run(ICMPGolden.dipErrorNoFlowIn).verdict == .drop(.noFlow))
        #expect(harness.run(ICMPGolden.routerErrorShortQuoteIn).verdict == .drop(.malformed))
        #expect(harness.run(ICMPGolden.redirectIn).verdict == .drop(.unsupported))
        // An ICMP header cut short.
        var cut = ICMPGolden.echoVIPIn
        cut[16...17] = [0x00, 0x1a]  // total length 26: 6 bytes of ICMP
        #expect(harness.run(Array(cut.prefix(40))).verdict == .drop(.malformed))
        let counters = harness.counters
        #expect(counters[.noFlow] == 2)
        #expect(counters[.unsupported] == 1)
        #expect(Self.balanced(counters))
    }

    // MARK: - Batch path

    @Test func batchesCarryFragmentsAndAnswers() {
        let frames = [
            ICMPGolden.externalSYNIn, ICMPGolden.externalBigIn, ICMPGolden.echoVIPIn, ICMPGolden.optionsBigIn,
            ICMPGolden.externalBigDFIn, ICMPGolden.routerErrorIn, ICMPGolden.redirectIn,
        ]
        let harness = Harness(TestPolicies.goldenExample())
        let stride = Packet.headroom + 2048
        let memory = UnsafeMutableRawPointer.allocate(byteCount: stride * frames.count, alignment: 64)
        defer { memory.deallocate() }
        let packets = UnsafeMutablePointer<Packet>.allocate(capacity: frames.count)
        defer { packets.deallocate() }
        let verdicts = UnsafeMutablePointer<Verdict>.allocate(capacity: frames.count)
        defer { verdicts.deallocate() }
        for (j, frame) in frames.enumerated() {
            let base = memory + j * stride
            frame.withUnsafeBytes { (base + Packet.headroom).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            packets[j] = Packet(base: base, start: Packet.headroom, length: frame.count)
        }
        harness.worker.processBatch(
            packets, count: frames.count, verdicts: verdicts, snapshot: harness.snapshot, now: 1000)
        func output(_ j: Int) -> [UInt8] {
            Array(UnsafeRawBufferPointer(start: packets[j].bytes, count: packets[j].length))
        }
        Self.same(output(0), ICMPGolden.externalSYNOut)
        #expect(verdicts[1] == .forwardFragments(.underlay, first: 0, count: 1))
        Self.same(output(1), ICMPGolden.fragment1Out)
        Self.same(output(2), ICMPGolden.echoVIPOut)
        #expect(verdicts[3] == .forwardFragments(.underlay, first: 1, count: 1))
        Self.same(output(3), ICMPGolden.optionsFragment1Out)
        Self.same(Self.fragments(harness, verdicts[1]).first ?? [], ICMPGolden.fragment2Out)
        Self.same(Self.fragments(harness, verdicts[3]).first ?? [], ICMPGolden.optionsFragment2Out)
        Self.same(output(4), ICMPGolden.externalFragNeededOut)
        Self.same(output(5), ICMPGolden.routerErrorOut)
        #expect(verdicts[6] == .drop(.unsupported))
        let counters = harness.counters
        #expect(counters.packetsIn == 7)
        #expect(counters.fragmentsOut == 2)
        #expect(Self.balanced(counters))
    }
}
