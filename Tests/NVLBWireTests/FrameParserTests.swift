import NVLBWire
import PropertyBased
import Testing

@Suite struct FrameParserTests {
    /// Every proper prefix of every frame kind is rejected (never crashes, never half-parses).
    @Test(arguments: FrameKind.allCases)
    func everyTruncationThrows(_ kind: FrameKind) {
        let bytes = kind.frame
        for length in 0..<bytes.count {
            let prefix = Array(bytes[..<length])
            #expect(throws: FrameParseError.self, "\(kind) truncated to \(length)") {
                try ParsedFrame.parse(prefix)
            }
            #expect(ParsedFrame(prefix) == nil)
        }
    }

    @Test func truncationErrorNamesTheLayer() {
        let bytes = FrameKind.nvgreTCP.frame
        #expect(throws: FrameParseError.truncated(layer: .ethernet, needed: 14, available: 10)) {
            try ParsedFrame.parse(Array(bytes[..<10]))
        }
        #expect(throws: FrameParseError.truncated(layer: .ipv4, needed: 20, available: 6)) {
            try ParsedFrame.parse(Array(bytes[..<20]))
        }
        #expect(throws: FrameParseError.truncated(layer: .ipv4, needed: bytes.count - 14, available: 50)) {
            try ParsedFrame.parse(Array(bytes[..<64]))
        }
    }

    @Test func inconsistentHeadersThrow() {
        let base = FrameKind.tcp.frame
        func mutated(_ offset: Int, _ value: UInt8) -> [UInt8] {
            var bytes = base
            bytes[offset] = value
            return bytes
        }
        // IPv4 version 6, IHL 4, total length shorter than the header.
        #expect(ParsedFrame(mutated(14, 0x65)) == nil)
        #expect(ParsedFrame(mutated(14, 0x44)) == nil)
        var short = base
        short[16] = 0
        short[17] = 19
        #expect(ParsedFrame(short) == nil)
        // TCP data offset 4, and one beyond the segment.
        #expect(ParsedFrame(mutated(34 + 12, 0x40)) == nil)
        #expect(ParsedFrame(mutated(34 + 12, 0xF0)) == nil)
        // UDP length below 8 and beyond the datagram.
        let udp = FrameKind.udp.frame
        var small = udp
        small[34 + 5] = 7
        #expect(ParsedFrame(small) == nil)
        var large = udp
        large[34 + 5] = 0xFF
        #expect(ParsedFrame(large) == nil)
        // ARP with a 16-byte protocol address.
        var arp = FrameKind.arpRequest.frame
        arp[14 + 5] = 16
        #expect(ParsedFrame(arp) == nil)
    }

    @Test func nonNVGREGreIsDecodedGenerically() throws {
        // GRE with checksum and sequence bits: 4 + 4 (checksum) + 4 (key) + 4 (sequence), IPv4 payload.
        let gre = hex("b0 00 08 00  12 34 00 00  00 00 13 89  00 00 00 01  de ad")
        let bytes = FrameBuilder.ipv4(
            srcMAC: Example.hostMAC, dstMAC: Example.lbMAC, src: Example.hostPA, dst: Example.lbPA,
            protocolNumber: 47, payload: gre)
        let parsed = try #require(ParsedFrame.parse(bytes).gre)
        #expect(!parsed.isNVGRE && parsed.key == 0x1389 && parsed.inner == nil && parsed.payload == [0xde, 0xad])
        let keyless = FrameBuilder.ipv4(
            srcMAC: Example.hostMAC, dstMAC: Example.lbMAC, src: Example.hostPA, dst: Example.lbPA,
            protocolNumber: 47, payload: hex("00 00 65 58") + FrameKind.arpReply.frame)
        let noKey = try #require(ParsedFrame.parse(keyless).gre)
        #expect(noKey.key == nil && noKey.vsid == nil && noKey.inner?.arp?.operation == 2)
    }

    @Test func innerVLANIsReported() throws {
        let bytes = FrameBuilder.encapsulate(
            inner: FrameKind.vlanTCP.frame, outerSourceMAC: Example.hostMAC, outerDestinationMAC: Example.lbMAC,
            outerSource: Example.hostPA, outerDestination: Example.lbPA, vsid: 5001)
        #expect(ParsedFrame(bytes)?.inner?.vlan?.vlanID == 42)
    }

    /// Fuzz: random bytes, and valid frames with random bytes overwritten, never crash.
    @Test func randomInputNeverCrashes() async {
        await propertyCheck(count: 2000, input: Gen.uint8().array(of: 0...120)) { bytes in
            _ = ParsedFrame(bytes)
            _ = ParsedFrame(hex("02 00 00 00 06 04 02 4c 42 00 06 02 08 00") + bytes)
        }
    }

    @Test func mutatedFramesNeverCrash() async {
        let kinds = FrameKind.allCases
        await propertyCheck(
            count: 3000, input: Gen.int(in: 0...(kinds.count - 1)), Gen.int(in: 0...200), Gen.uint8(),
            Gen.int(in: 0...200)
        ) { kindIndex, position, value, cut in
            var bytes = kinds[kindIndex].frame
            bytes[position % bytes.count] = value
            _ = ParsedFrame(bytes)
            _ = ParsedFrame(Array(bytes.prefix(cut)))
        }
    }
}
