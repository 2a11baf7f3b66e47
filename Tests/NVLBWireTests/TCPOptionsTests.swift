import NVLBWire
import PropertyBased
import Testing

/// `TCPOptions.clampMSS` (MSS clamping) and `IPv4Fragmentation` (headers of non-first
/// fragments): results checked against full recomputation and RFC 791's rules.
@Suite struct TCPOptionsTests {
    /// A TCP segment (header with `options`, no data) with a correct checksum over IPv4 a → b.
    static func segment(options: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x02, 0xff, 0xff, 0, 0, 0, 0]
        bytes += options
        bytes[12] = UInt8((bytes.count / 4) << 4)
        setChecksum(&bytes)
        return bytes
    }

    static func setChecksum(_ bytes: inout [UInt8]) {
        bytes[16] = 0
        bytes[17] = 0
        let sum = bytes.withUnsafeBytes {
            Checksum.transport(
                $0.baseAddress!, count: $0.count, source: IPv4Address(rawValue: 0xcb00_7107),
                destination: IPv4Address(rawValue: 0x0a01_0615), protocolNumber: 6)
        }
        bytes[16] = UInt8(sum >> 8)
        bytes[17] = UInt8(sum & 0xFF)
    }

    static func checksumValid(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes {
            Checksum.transport(
                $0.baseAddress!, count: $0.count, source: IPv4Address(rawValue: 0xcb00_7107),
                destination: IPv4Address(rawValue: 0x0a01_0615), protocolNumber: 6) == 0
        }
    }

    static func clamp(_ bytes: inout [UInt8], available: Int? = nil, to clamp: UInt16) -> Bool {
        let count = bytes.count
        return bytes.withUnsafeMutableBytes {
            TCPOptions.clampMSS($0.baseAddress!, headerLength: count, available: available ?? count, to: clamp)
        }
    }

    @Test func clampsAtEvenAndOddOffsetsWithACorrectChecksum() async {
        await propertyCheck(count: 300, input: Gen.int(in: 0...3), Gen.uint16(), Gen.uint16(in: 88...9000)) {
            nops, mss, limit in
            var options = [UInt8](repeating: 1, count: nops) + [2, 4, UInt8(mss >> 8), UInt8(mss & 0xFF)]
            while options.count % 4 != 0 { options.append(0) }
            var bytes = Self.segment(options: options)
            let changed = Self.clamp(&bytes, to: limit)
            #expect(changed == (mss > limit))
            let value = UInt16(bytes[20 + nops + 2]) << 8 | UInt16(bytes[20 + nops + 3])
            #expect(value == min(mss, limit))
            #expect(Self.checksumValid(bytes))
        }
    }

    @Test func malformedOptionsAreLeftAsTheyAre() {
        let layouts: [[UInt8]] = [
            [2, 3, 0x05, 0xb4],  // MSS of length 3
            [1, 2, 9, 0x05, 0xb4, 0, 0, 0],  // length past the header
            [8, 0, 2, 4, 0x05, 0xb4, 0, 0],  // length 0: the walk stops
            [0, 2, 4, 0x05, 0xb4, 0, 0, 0],  // end of list before the MSS
            [1, 1, 1, 1, 1, 1, 1, 2],  // kind without a length byte
        ]
        for options in layouts {
            var bytes = Self.segment(options: options)
            let before = bytes
            #expect(!Self.clamp(&bytes, to: 1000), "\(options)")
            #expect(bytes == before)
        }
    }

    @Test func neverReadsPastTheAvailableBytes() {
        // The MSS option straddles the end of what the buffer holds: not touched.
        var bytes = Self.segment(options: [1, 1, 2, 4, 0x05, 0xb4, 0, 0])
        let before = bytes
        #expect(!Self.clamp(&bytes, available: 25, to: 1000))
        #expect(bytes == before)
        #expect(Self.clamp(&bytes, available: 26, to: 1000))
    }

    @Test func fragmentHeadersKeepOnlyCopiedOptions() {
        // IHL 9: router alert (copied), record route (not copied), security-like type 0x82
        // (copied, length 3), NOP, EOL padding.
        var header: [UInt8] = [0x49, 0, 0x05, 0xdc, 0x12, 0x34, 0, 0, 64, 17, 0, 0, 203, 0, 113, 7, 10, 1, 6, 21]
        header += [0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0x82, 3, 0xaa, 1, 0]
        var out = [UInt8](repeating: 0xee, count: 60)
        let length = header.withUnsafeBytes { source in
            out.withUnsafeMutableBytes {
                IPv4Fragmentation.writeFragmentHeader(from: source.baseAddress!, headerLength: 36, to: $0.baseAddress!)
            }
        }
        #expect(length == 28)
        #expect(out[0] == 0x47)
        #expect(Array(out[20..<28]) == [0x94, 4, 0, 0, 0x82, 3, 0xaa, 0])
        out.withUnsafeMutableBytes {
            IPv4Fragmentation.finish(
                $0.baseAddress!, headerLength: 28, totalLength: 28 + 16, moreFragments: true, offset: 1480)
        }
        #expect(Array(out[2...3]) == [0, 44])
        #expect(Array(out[6...7]) == [0x20, 185])  // MF, 1480 / 8
        #expect(Checksum.internet(Array(out[0..<28])) == 0)
    }
}
