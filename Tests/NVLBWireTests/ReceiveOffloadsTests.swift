import NVLBWire
import Testing

/// Completing partial checksums and cutting super-frames, on bytes
/// (docs/packets.md "Frames from virtual links").
@Suite struct ReceiveOffloadsTests {
    static let client = ip("203.0.113.7")
    static let vip = ip("198.51.100.10")
    static let dip = ip("10.0.0.21")
    static let clientMAC = mac("02:00:00:00:00:01")
    static let ownMAC = mac("02:00:00:00:00:02")

    /// `frame` with its transport checksum replaced by what a sender with checksum offload
    /// leaves there: the folded pseudo-header sum, not complemented.
    static func partial(_ frame: [UInt8], checksumOffset: Int, protocolNumber: UInt8) -> [UInt8] {
        var bytes = frame
        let transportLength = frame.count - 34
        let pseudo = Checksum.fold(
            Checksum.pseudoHeaderSum(
                source: client, destination: vip, protocolNumber: protocolNumber, length: transportLength))
        bytes[34 + checksumOffset] = UInt8(pseudo >> 8)
        bytes[34 + checksumOffset + 1] = UInt8(pseudo & 0xFF)
        return bytes
    }

    static func payload(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    @Test func partialTCPChecksumIsCompletedToTheFullOne() {
        let full = FrameBuilder.tcp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 40_000, dport: 80,
            flags: [.ack, .psh], seq: 1000, ack: 2000, payload: Self.payload(301))
        var frame = Self.partial(full, checksumOffset: 16, protocolNumber: 6)
        #expect(frame != full)
        #expect(ParsedFrame(frame)?.checksumsValid == false)
        let done = withPointer(&frame) {
            ReceiveOffloads.completeChecksum($0, length: full.count, start: 34, offset: 16)
        }
        #expect(done)
        #expect(frame == full)
        #expect(ParsedFrame(frame)?.checksumsValid == true)
    }

    @Test func partialUDPChecksumIsCompletedToTheFullOne() {
        let full = FrameBuilder.udp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 5353, dport: 53,
            payload: Self.payload(1472 - 8))
        var frame = Self.partial(full, checksumOffset: 6, protocolNumber: 17)
        #expect(ParsedFrame(frame)?.checksumsValid == false)
        _ = withPointer(&frame) { ReceiveOffloads.completeChecksum($0, length: full.count, start: 34, offset: 6) }
        #expect(frame == full)
    }

    /// A UDP checksum that computes to 0 is sent as 0xFFFF: 0 would mean "no checksum".
    @Test func udpChecksumOfZeroIsSentAsAllOnes() {
        // With a zero payload word the checksum is c = ~sum; a payload word of c makes the
        // sum 0xFFFF, whose checksum is 0.
        var full = FrameBuilder.udp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 5353, dport: 53,
            payload: [0, 0])
        full[42] = full[40]
        full[43] = full[41]
        var frame = Self.partial(full, checksumOffset: 6, protocolNumber: 17)
        _ = withPointer(&frame) { ReceiveOffloads.completeChecksum($0, length: full.count, start: 34, offset: 6) }
        #expect(frame[40] == 0xFF && frame[41] == 0xFF)
        #expect(ParsedFrame(frame)?.checksumsValid == true)
    }

    @Test func checksumFieldOutsideTheFrameIsRefused() {
        var frame = [UInt8](repeating: 0, count: 40)
        let done = withPointer(&frame) { ReceiveOffloads.completeChecksum($0, length: 40, start: 34, offset: 16) }
        #expect(!done)
        #expect(frame == [UInt8](repeating: 0, count: 40))
    }

    /// What nvlb does to a packet toward a DIP (destination address and port rewritten, the
    /// checksums updated incrementally) gives a valid checksum once the partial one was
    /// completed; on the partial checksum it would not.
    @Test func incrementalRewriteAfterCompletionIsValid() {
        let full = FrameBuilder.tcp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 40_000, dport: 80,
            flags: .syn, seq: 77, payload: [])
        func rewrite(_ frame: inout [UInt8]) {
            withPointer(&frame) { p in
                let tcpChecksum = p.loadBigEndian(fromByteOffset: 50, as: UInt16.self)
                var updated = Checksum.updated(tcpChecksum, replacing: Self.vip, with: Self.dip)
                updated = Checksum.updated(updated, replacing: 80, with: 8080)
                p.storeBigEndian(updated, toByteOffset: 50)
                p.storeBigEndian(UInt16(8080), toByteOffset: 36)
                let ipChecksum = p.loadBigEndian(fromByteOffset: 24, as: UInt16.self)
                p.storeBigEndian(Checksum.updated(ipChecksum, replacing: Self.vip, with: Self.dip), toByteOffset: 24)
                p.storeIPv4Address(Self.dip, toByteOffset: 30)
            }
        }
        var completed = Self.partial(full, checksumOffset: 16, protocolNumber: 6)
        _ = withPointer(&completed) { ReceiveOffloads.completeChecksum($0, length: full.count, start: 34, offset: 16) }
        rewrite(&completed)
        let parsed = ParsedFrame(completed)
        #expect(parsed?.ipv4?.destination == Self.dip)
        #expect(parsed?.tcp?.destinationPort == 8080)
        #expect(parsed?.checksumsValid == true)

        var uncompleted = Self.partial(full, checksumOffset: 16, protocolNumber: 6)
        rewrite(&uncompleted)
        #expect(ParsedFrame(uncompleted)?.checksumsValid == false)
    }

    // MARK: Segmentation

    /// A 64 KB TSO super-frame (timestamps option, MSS 1448, ECN flags) cut in 45 segments,
    /// each equal byte for byte to the segment built independently with its own sequence
    /// number, IPv4 identification, length, flags and checksums.
    @Test func tcpSuperframeIsCutIntoMSSSegments() throws {
        let options: [UInt8] = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]  // NOP NOP timestamps
        let mss = 1448
        let data = Self.payload(64_000)
        let flags: TCPFlags = [.ack, .psh, .fin, .cwr, .ece]
        let fields = FrameBuilder.IPv4Fields(identification: 0xFFF0)
        let built = FrameBuilder.tcp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 40_000, dport: 80,
            flags: flags, seq: 0xFFFF_0000, ack: 99, window: 501, tcpOptions: options, payload: data, ip: fields)
        #expect(built.count == 14 + 20 + 32 + 64_000)
        let superframe = Self.partial(built, checksumOffset: 16, protocolNumber: 6)
        let geometry = try #require(
            superframe.withUnsafeBytes {
                ReceiveOffloads.tcp($0.baseAddress!, length: superframe.count, networkOffset: 14, segmentSize: mss)
            })
        #expect(geometry.segmentCount == 45)  // 44 × 1448 + 288; the identification wraps past 0xFFFF
        #expect(geometry.headerLength == 66)
        #expect(geometry.maximumSegmentLength == 1514)
        var output = [UInt8](repeating: 0, count: 1514)
        var total = 0
        for index in 0..<geometry.segmentCount {
            let length = superframe.withUnsafeBytes { input in
                withPointer(&output) {
                    ReceiveOffloads.writeSegment(index, of: geometry, from: input.baseAddress!, into: $0)
                }
            }
            let first = index * mss
            let chunk = Array(data[first..<min(first + mss, data.count)])
            var expectedFlags: TCPFlags = [.ack, .ece]
            if index == 0 { expectedFlags.insert(.cwr) }
            if index == geometry.segmentCount - 1 { expectedFlags.formUnion([.psh, .fin]) }
            let expected = FrameBuilder.tcp(
                srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 40_000, dport: 80,
                flags: expectedFlags, seq: 0xFFFF_0000 &+ UInt32(first), ack: 99, window: 501, tcpOptions: options,
                payload: chunk, ip: FrameBuilder.IPv4Fields(identification: 0xFFF0 &+ UInt16(index)))
            let segment = Array(output[0..<length])
            #expect(segment == expected, "segment \(index)")
            let parsed = try #require(ParsedFrame(segment))
            #expect(parsed.checksumsValid)
            #expect(parsed.ipv4?.totalLength == UInt16(20 + 32 + chunk.count))
            #expect(parsed.tcp?.sequenceNumber == 0xFFFF_0000 &+ UInt32(first))
            #expect(length <= 1514)
            total += chunk.count
        }
        #expect(total == 64_000)
    }

    /// A VLAN-tagged super-frame: the IPv4 header after the tag.
    @Test func taggedSuperframeKeepsItsTag() throws {
        let data = Self.payload(3000)
        let built = FrameBuilder.tcp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 1, dport: 2,
            flags: .ack, seq: 5, payload: data, vlanID: 42)
        let geometry = try #require(
            built.withUnsafeBytes {
                ReceiveOffloads.tcp($0.baseAddress!, length: built.count, networkOffset: 18, segmentSize: 1460)
            })
        #expect(geometry.segmentCount == 3)
        var output = [UInt8](repeating: 0, count: 1518)
        for index in 0..<3 {
            let length = built.withUnsafeBytes { input in
                withPointer(&output) {
                    ReceiveOffloads.writeSegment(index, of: geometry, from: input.baseAddress!, into: $0)
                }
            }
            let parsed = try #require(ParsedFrame(Array(output[0..<length])))
            #expect(parsed.vlan?.vlanID == 42)
            #expect(parsed.checksumsValid)
            #expect(parsed.tcp?.payload == Array(data[(index * 1460)..<min(index * 1460 + 1460, 3000)]))
        }
    }

    /// UDP segmentation offload: each segment a datagram of its own, with its length.
    @Test func udpSuperframeIsCutIntoDatagrams() throws {
        let data = Self.payload(4000)
        let built = FrameBuilder.udp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 4433, dport: 443,
            payload: data, ip: FrameBuilder.IPv4Fields(identification: 7))
        let geometry = try #require(
            built.withUnsafeBytes {
                ReceiveOffloads.udp($0.baseAddress!, length: built.count, networkOffset: 14, segmentSize: 1200)
            })
        #expect(geometry.segmentCount == 4)
        var output = [UInt8](repeating: 0, count: 1514)
        for index in 0..<4 {
            let length = built.withUnsafeBytes { input in
                withPointer(&output) {
                    ReceiveOffloads.writeSegment(index, of: geometry, from: input.baseAddress!, into: $0)
                }
            }
            let chunk = Array(data[(index * 1200)..<min(index * 1200 + 1200, 4000)])
            let expected = FrameBuilder.udp(
                srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 4433, dport: 443,
                payload: chunk, ip: FrameBuilder.IPv4Fields(identification: 7 + UInt16(index)))
            #expect(Array(output[0..<length]) == expected)
        }
    }

    @Test func notTCPOrCutShortIsNoSuperframe() {
        let udp = FrameBuilder.udp(
            srcMAC: Self.clientMAC, dstMAC: Self.ownMAC, src: Self.client, dst: Self.vip, sport: 1, dport: 2,
            payload: [1, 2, 3])
        udp.withUnsafeBytes { p in
            #expect(ReceiveOffloads.tcp(p.baseAddress!, length: udp.count, networkOffset: 14, segmentSize: 1448) == nil)
            #expect(ReceiveOffloads.udp(p.baseAddress!, length: udp.count, networkOffset: 14, segmentSize: 0) == nil)
            #expect(ReceiveOffloads.udp(p.baseAddress!, length: 30, networkOffset: 14, segmentSize: 1448) == nil)
        }
    }
}
