import NVLBWire
import PropertyBased
import Testing

@Suite struct ChecksumTests {
    /// The header of RFC 1071-style textbook examples: checksum 0xB861.
    static let header = hex("45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7")

    @Test func knownIPv4Header() {
        var zeroed = Self.header
        zeroed[10] = 0
        zeroed[11] = 0
        #expect(Checksum.internet(zeroed) == 0xB861)
        // Verification: the sum over a header that carries its checksum is 0.
        #expect(Checksum.internet(Self.header) == 0)
    }

    /// RFC 1071 §3 numerical example: the sum of `00 01 f2 03 f4 f5 f6 f7` is 0xDDF2.
    @Test func rfc1071Example() {
        let bytes = hex("00 01 f2 03 f4 f5 f6 f7")
        #expect(Checksum.internet(bytes) == ~UInt16(0xDDF2))
    }

    @Test(arguments: [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 20, 63, 64, 65, 1499, 1500])
    func allZeroAndAllOnes(_ count: Int) {
        #expect(Checksum.internet([UInt8](repeating: 0, count: count)) == 0xFFFF)
        // An even run of 0xFF sums to 0xFFFF ("-0"): checksum 0. An odd run adds the padded
        // word 0xFF00: 0xFFFF + 0xFF00 folds to 0xFF00, checksum 0x00FF.
        let ones = [UInt8](repeating: 0xFF, count: count)
        #expect(Checksum.internet(ones) == referenceChecksum(ones))
        #expect(Checksum.internet(ones) == (count == 0 ? 0xFFFF : count.isMultiple(of: 2) ? 0 : 0x00FF))
    }

    @Test func oddLengthPadsTheLastByteHigh() {
        #expect(Checksum.internet([0x01]) == ~UInt16(0x0100))
        #expect(Checksum.internet([0x00, 0x01, 0x02]) == ~UInt16(0x0201))
    }

    /// The fast sum (8 bytes per step, unaligned) equals the byte-at-a-time reference for
    /// every length and every start alignment.
    @Test func matchesReference() async {
        await propertyCheck(
            count: 500, input: Gen.uint8().array(of: 0...300), Gen.int(in: 0...7)
        ) { bytes, shift in
            let padded = [UInt8](repeating: 0xA5, count: shift) + bytes
            let fast = padded.withUnsafeBytes { buffer in
                Checksum.internet(buffer.baseAddress! + shift, count: bytes.count)
            }
            #expect(fast == referenceChecksum(bytes))
        }
    }

    /// Sums compose: summing two even-length pieces equals summing the whole.
    @Test func partialSumsCompose() async {
        await propertyCheck(input: Gen.uint8().array(of: 0...100), Gen.uint8().array(of: 0...100)) { a, b in
            let first = a.count & 1 == 0 ? a : a + [0]
            let whole = first + b
            let split = first.withUnsafeBytes { x in
                b.withUnsafeBytes { y in
                    let sum = Checksum.partialSum(x.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: x.count)
                    return Checksum.finish(
                        Checksum.partialSum(
                            y.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, count: y.count, initial: sum))
                }
            }
            #expect(split == referenceChecksum(whole))
        }
    }

    @Test func pseudoHeaderMatchesExplicitBytes() {
        let source = ip("203.0.113.7")
        let destination = ip("10.1.6.21")
        let segment = hex("c0 00 00 50 01 02 03 04 00 00 00 00 50 02 ff ff 00 00 00 00")
        let pseudo = hex("cb 00 71 07  0a 01 06 15  00 06  00 14")
        let viaHelper = segment.withUnsafeBytes {
            Checksum.transport(
                $0.baseAddress!, count: $0.count, source: source, destination: destination, protocolNumber: 6)
        }
        #expect(viaHelper == referenceChecksum(pseudo + segment))
        #expect(viaHelper == 0x9F6E)  // computed independently
    }
}

@Suite struct ChecksumFoldTests {
    /// The 32-bit fold (two carries) equals the general 64-bit one for every 32-bit sum.
    @Test func narrowFoldAgreesWithTheWideOne() async {
        await propertyCheck(count: 2000, input: Gen.uint32()) { sum in
            #expect(Checksum.fold(sum) == Checksum.fold(UInt64(sum)))
            #expect(Checksum.finish(sum) == Checksum.finish(UInt64(sum)))
        }
        for sum: UInt32 in [0, 0xFFFF, 0x1_0000, 0x1_FFFE, 0xFFFF_FFFF, 0xFFFE_0001] {
            #expect(Checksum.fold(sum) == Checksum.fold(UInt64(sum)), "\(sum)")
        }
    }
}
