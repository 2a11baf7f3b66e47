/// Turning frames a virtual link hands over with the sender's offloads still pending into
/// the frames a wire would carry (docs/packets.md "Frames from virtual links").
///
/// A Linux sender with checksum offload on leaves a TCP/UDP checksum *partial*: the field
/// holds only the pseudo-header sum, and the checksum is to be computed from `start`
/// (the transport header) to the end of the packet and stored at `start + offset`. A sender
/// with TSO/GSO on hands over *super-frames*: one IPv4/TCP header for up to 64 KB of payload,
/// to be cut into segments of `segmentSize` payload bytes. A veth, a tap or a bridge passes
/// both through to a packet socket on the peer, which reports them in its `virtio_net_hdr`.
///
/// Pure functions on raw memory: no allocation, no state; the receive path calls them
/// before the data plane sees the frame, so the data plane's incremental checksum updates
/// start from a complete checksum.
public enum ReceiveOffloads {
    /// Completes a partial checksum in place: sums the `length - start` bytes from `start`
    /// (the checksum field included, which holds the pseudo-header sum) and stores the
    /// complement at `start + offset`. A UDP checksum (`offset` 6) that computes to 0 is sent
    /// as 0xFFFF (RFC 768: 0 means "no checksum").
    ///
    /// Returns false, leaving the frame unchanged, when the field does not lie within
    /// `length` bytes.
    @inlinable
    public static func completeChecksum(
        _ frame: UnsafeMutableRawPointer, length: Int, start: Int, offset: Int
    ) -> Bool {
        guard start >= 0, offset >= 0, start &+ offset &+ 2 <= length else { return false }
        var checksum = Checksum.finish(Checksum.partialSum(frame + start, count: length &- start))
        if offset == 6, checksum == 0 { checksum = 0xFFFF }
        frame.storeBigEndian(checksum, toByteOffset: start &+ offset)
        return true
    }

    /// The geometry of an IPv4/TCP (or IPv4/UDP) super-frame: where its headers are and how
    /// it splits. Built by ``tcp(_:length:networkOffset:segmentSize:)`` or
    /// ``udp(_:length:networkOffset:segmentSize:)``, used by ``writeSegment(_:of:into:)``.
    @frozen
    public struct Superframe: Hashable, Sendable {
        /// Offset of the IPv4 header (14, or 18 after an 802.1Q tag).
        public let networkOffset: Int
        /// IPv4 header length.
        public let ipHeaderLength: Int
        /// TCP or UDP header length.
        public let transportHeaderLength: Int
        /// True for TCP (sequence numbers and flags per segment), false for UDP.
        public let isTCP: Bool
        /// Payload bytes of every segment but the last.
        public let segmentSize: Int
        /// Payload bytes in the super-frame.
        public let payloadLength: Int

        /// Bytes of headers copied in front of every segment's payload.
        @inlinable public var headerLength: Int { networkOffset &+ ipHeaderLength &+ transportHeaderLength }
        /// Number of segments (at least 1).
        @inlinable public var segmentCount: Int {
            payloadLength == 0 ? 1 : (payloadLength &+ segmentSize &- 1) / segmentSize
        }
        /// Largest segment frame, in bytes.
        @inlinable public var maximumSegmentLength: Int { headerLength &+ min(segmentSize, payloadLength) }

        @usableFromInline
        init(
            networkOffset: Int, ipHeaderLength: Int, transportHeaderLength: Int, isTCP: Bool,
            segmentSize: Int, payloadLength: Int
        ) {
            self.networkOffset = networkOffset
            self.ipHeaderLength = ipHeaderLength
            self.transportHeaderLength = transportHeaderLength
            self.isTCP = isTCP
            self.segmentSize = segmentSize
            self.payloadLength = payloadLength
        }
    }

    /// The geometry of an IPv4/TCP super-frame of `length` bytes whose IPv4 header starts at
    /// `networkOffset`, cut into `segmentSize`-byte payloads; nil when the frame is not
    /// IPv4/TCP, its headers are cut short, or `segmentSize` is 0.
    @inlinable
    public static func tcp(
        _ frame: UnsafeRawPointer, length: Int, networkOffset: Int, segmentSize: Int
    ) -> Superframe? {
        superframe(frame, length: length, networkOffset: networkOffset, segmentSize: segmentSize, tcp: true)
    }

    /// The geometry of an IPv4/UDP super-frame (UDP segmentation offload: every segment is a
    /// datagram of its own with the same header); nil as for ``tcp(_:length:networkOffset:segmentSize:)``.
    @inlinable
    public static func udp(
        _ frame: UnsafeRawPointer, length: Int, networkOffset: Int, segmentSize: Int
    ) -> Superframe? {
        superframe(frame, length: length, networkOffset: networkOffset, segmentSize: segmentSize, tcp: false)
    }

    @inlinable
    static func superframe(
        _ frame: UnsafeRawPointer, length: Int, networkOffset: Int, segmentSize: Int, tcp: Bool
    ) -> Superframe? {
        guard segmentSize > 0, networkOffset >= 0, length >= networkOffset &+ 20 else { return nil }
        let versionIHL = frame.load(fromByteOffset: networkOffset, as: UInt8.self)
        let ipHeaderLength = Int(versionIHL & 0x0F) &* 4
        guard versionIHL >> 4 == 4, ipHeaderLength >= 20,
            frame.load(fromByteOffset: networkOffset &+ 9, as: UInt8.self) == (tcp ? 6 : 17)
        else { return nil }
        let transportOffset = networkOffset &+ ipHeaderLength
        let transportHeaderLength: Int
        if tcp {
            guard length >= transportOffset &+ 20 else { return nil }
            transportHeaderLength = Int(frame.load(fromByteOffset: transportOffset &+ 12, as: UInt8.self) >> 4) &* 4
            guard transportHeaderLength >= 20 else { return nil }
        } else {
            transportHeaderLength = 8
        }
        // The packet ends at the IPv4 total length (a sender may use 0 above 64 KB: then
        // at the frame's end); anything after it is link padding.
        let totalLength = Int(frame.loadBigEndian(fromByteOffset: networkOffset &+ 2, as: UInt16.self))
        let end = totalLength == 0 ? length : min(length, networkOffset &+ totalLength)
        let headers = transportOffset &+ transportHeaderLength
        guard end >= headers else { return nil }
        return Superframe(
            networkOffset: networkOffset, ipHeaderLength: ipHeaderLength, transportHeaderLength: transportHeaderLength,
            isTCP: tcp, segmentSize: segmentSize, payloadLength: end &- headers)
    }

    /// Writes segment `index` of the super-frame at `frame` (geometry `superframe`) to
    /// `output` and returns its length: the link and IPv4 headers copied with the IPv4 total
    /// length, identification (first segment's + `index`) and header checksum set; for TCP
    /// the sequence number advanced by the payload before it, FIN and PSH kept on the last
    /// segment only, CWR on the first only; for UDP the length set; the transport checksum
    /// computed whole. `output` must hold ``Superframe/maximumSegmentLength`` bytes and may
    /// not overlap `frame`.
    @inlinable
    @discardableResult
    public static func writeSegment(
        _ index: Int, of superframe: Superframe, from frame: UnsafeRawPointer, into output: UnsafeMutableRawPointer
    ) -> Int {
        let first = index &* superframe.segmentSize
        let payload = min(superframe.segmentSize, superframe.payloadLength &- first)
        let headers = superframe.headerLength
        output.copyMemory(from: frame, byteCount: headers)
        (output + headers).copyMemory(from: frame + (headers &+ first), byteCount: max(payload, 0))
        let ip = superframe.networkOffset
        let transport = ip &+ superframe.ipHeaderLength
        let transportLength = superframe.transportHeaderLength &+ payload
        output.storeBigEndian(
            UInt16(truncatingIfNeeded: superframe.ipHeaderLength &+ transportLength), toByteOffset: ip &+ 2)
        let identification = frame.loadBigEndian(fromByteOffset: ip &+ 4, as: UInt16.self)
        output.storeBigEndian(identification &+ UInt16(truncatingIfNeeded: index), toByteOffset: ip &+ 4)
        output.storeBigEndian(UInt16(0), toByteOffset: ip &+ 10)
        output.storeBigEndian(Checksum.internet(output + ip, count: superframe.ipHeaderLength), toByteOffset: ip &+ 10)
        let checksumOffset: Int
        if superframe.isTCP {
            let sequence = frame.loadBigEndian(fromByteOffset: transport &+ 4, as: UInt32.self)
            output.storeBigEndian(sequence &+ UInt32(truncatingIfNeeded: first), toByteOffset: transport &+ 4)
            var flags = frame.load(fromByteOffset: transport &+ 13, as: UInt8.self)
            if index != superframe.segmentCount &- 1 { flags &= ~UInt8(0x09) }  // FIN, PSH
            if index != 0 { flags &= ~UInt8(0x80) }  // CWR
            output.storeBytes(of: flags, toByteOffset: transport &+ 13, as: UInt8.self)
            checksumOffset = transport &+ 16
        } else {
            output.storeBigEndian(UInt16(truncatingIfNeeded: transportLength), toByteOffset: transport &+ 4)
            checksumOffset = transport &+ 6
        }
        output.storeBigEndian(UInt16(0), toByteOffset: checksumOffset)
        let pseudo = Checksum.pseudoHeaderSum(
            source: output.loadIPv4Address(fromByteOffset: ip &+ 12),
            destination: output.loadIPv4Address(fromByteOffset: ip &+ 16),
            protocolNumber: superframe.isTCP ? 6 : 17, length: transportLength)
        var checksum = Checksum.finish(Checksum.partialSum(output + transport, count: transportLength, initial: pseudo))
        if !superframe.isTCP, checksum == 0 { checksum = 0xFFFF }
        output.storeBigEndian(checksum, toByteOffset: checksumOffset)
        return headers &+ payload
    }
}
