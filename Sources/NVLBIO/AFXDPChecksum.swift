import NVLBWire

/// Transport checksums of frames received through AF_XDP (docs/afxdp.md "What AF_XDP sees
/// on veth").
///
/// An AF_XDP socket receives the frame's bytes only: no `virtio_net_hdr`, so nothing says
/// that a TCP/UDP checksum is partial (a same-host sender with checksum offload leaves only
/// the pseudo-header sum in the field). The data plane updates checksums incrementally,
/// which is right only for a complete checksum, so the receive path checks every TCP/UDP
/// checksum (of the plain IPv4 packet, or of the packet inside NVGRE) before the data plane
/// sees the frame:
///
/// - correct: the frame goes on unchanged;
/// - equal to the pseudo-header sum (a partial checksum): completed in place and counted;
/// - anything else: the frame is dropped and counted (never forwarded with a bad checksum).
///
/// Fragments (whose checksum covers bytes of other frames) and other protocols are not
/// checked. Pure functions on raw memory: no allocation.
public enum AFXDPChecksum {
    /// What ``check(_:length:)`` found.
    public enum Outcome: Equatable, Sendable {
        /// Not a whole TCP/UDP packet (ARP, ICMP, fragments, malformed frames): the data
        /// plane decides.
        case notChecked
        /// The checksum was right (or a UDP datagram without one).
        case valid
        /// The checksum was partial and is now complete.
        case completed
        /// The checksum is wrong: drop the frame.
        case bad
    }

    /// Checks (and completes) the TCP/UDP checksum of the `length`-byte frame at `frame`.
    @inlinable
    public static func check(_ frame: UnsafeMutableRawPointer, length: Int) -> Outcome {
        guard length >= 34, frame.loadBigEndian(fromByteOffset: 12, as: UInt16.self) == 0x0800 else {
            return .notChecked
        }
        var ip = 14
        var end = length
        guard let outer = packet(frame, ip: ip, end: end) else { return .notChecked }
        if outer.protocolNumber == 47 {
            // NVGRE (GRE with only the key bit, protocol 0x6558) carrying Ethernet/IPv4.
            let gre = ip &+ outer.headerLength
            guard !outer.isFragment, gre &+ 8 &+ 14 &+ 20 <= outer.end,
                frame.loadBigEndian(fromByteOffset: gre, as: UInt32.self) == 0x2000_6558,
                frame.loadBigEndian(fromByteOffset: gre &+ 8 &+ 12, as: UInt16.self) == 0x0800
            else { return .notChecked }
            ip = gre &+ 8 &+ 14
            end = outer.end
            guard let inner = packet(frame, ip: ip, end: end) else { return .notChecked }
            return transport(frame, ip: ip, inner)
        }
        return transport(frame, ip: ip, outer)
    }

    /// An IPv4 header's fields, when it is well formed within `end`.
    @usableFromInline
    struct IPv4Fields {
        @usableFromInline var headerLength: Int
        @usableFromInline var end: Int
        @usableFromInline var protocolNumber: UInt8
        @usableFromInline var isFragment: Bool
        @usableFromInline
        init(headerLength: Int, end: Int, protocolNumber: UInt8, isFragment: Bool) {
            self.headerLength = headerLength
            self.end = end
            self.protocolNumber = protocolNumber
            self.isFragment = isFragment
        }
    }

    @inlinable @inline(__always)
    static func packet(_ frame: UnsafeMutableRawPointer, ip: Int, end: Int) -> IPv4Fields? {
        guard ip &+ 20 <= end else { return nil }
        let versionIHL = frame.load(fromByteOffset: ip, as: UInt8.self)
        let headerLength = Int(versionIHL & 0x0F) &* 4
        let total = Int(frame.loadBigEndian(fromByteOffset: ip &+ 2, as: UInt16.self))
        guard versionIHL >> 4 == 4, headerLength >= 20, total >= headerLength, ip &+ total <= end else { return nil }
        let fragment = frame.loadBigEndian(fromByteOffset: ip &+ 6, as: UInt16.self) & 0x3FFF
        return IPv4Fields(
            headerLength: headerLength, end: ip &+ total,
            protocolNumber: frame.load(fromByteOffset: ip &+ 9, as: UInt8.self), isFragment: fragment != 0)
    }

    @inlinable @inline(__always)
    static func transport(_ frame: UnsafeMutableRawPointer, ip: Int, _ fields: IPv4Fields) -> Outcome {
        let proto = fields.protocolNumber
        guard proto == 6 || proto == 17, !fields.isFragment else { return .notChecked }
        let start = ip &+ fields.headerLength
        let field = proto == 6 ? 16 : 6
        guard start &+ field &+ 2 <= fields.end else { return .notChecked }
        let stored = frame.loadBigEndian(fromByteOffset: start &+ field, as: UInt16.self)
        if proto == 17, stored == 0 { return .valid }
        let count = fields.end &- start
        let pseudo = Checksum.pseudoHeaderSum(
            source: IPv4Address(rawValue: frame.loadBigEndian(fromByteOffset: ip &+ 12, as: UInt32.self)),
            destination: IPv4Address(rawValue: frame.loadBigEndian(fromByteOffset: ip &+ 16, as: UInt32.self)),
            protocolNumber: proto, length: count)
        let sum = Checksum.partialSum(frame + start, count: count, initial: pseudo)
        if Checksum.fold(sum) == 0xFFFF { return .valid }
        // A partial checksum holds the folded pseudo-header sum (Linux: ~csum_tcpudp_magic(…, 0)).
        if stored == Checksum.fold(pseudo) {
            _ = ReceiveOffloads.completeChecksum(frame, length: fields.end, start: start, offset: field)
            return .completed
        }
        return .bad
    }
}
