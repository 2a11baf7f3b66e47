import NVLBPolicy
import NVLBBalancing
import NVLBWire

/// In-place header rewriting shared by every NAT path: address/port changes with
/// RFC 1624 incremental checksum updates, and the 42-byte NVGRE encapsulation.
@usableFromInline
enum Rewrite {
    /// Bytes NVGRE encapsulation adds (``GREHeader/encapsulationOverhead``), by its name here.
    @usableFromInline static let encapsulationSize = GREHeader.encapsulationOverhead

    /// Replaces the IPv4 source (`source == true`) or destination address and the
    /// matching transport port, updating the IPv4 header checksum and the TCP/UDP
    /// checksum (pseudo-header included). A UDP checksum of 0 (none) stays 0.
    ///
    /// RFC 1624 eqn. 3 with the address change summed once for both checksums, on the
    /// words as they lie in memory: a one's-complement sum is byte-order independent
    /// (RFC 1071 §2(B)), so nothing is byte-swapped but the two new values. Folding
    /// both changes into one sum gives the same result as updating twice (a fold
    /// yields 0 only for an all-zero sum either way).
    @inlinable @inline(__always)
    static func translate(
        _ p: UnsafeMutableRawPointer, ip: Int, transport: Int, protocolNumber: UInt8, source: Bool,
        address: UInt32, port: UInt16
    ) {
        let header = p + ip
        let addressOffset = source ? 12 : 16
        let oldAddress = header.loadUnaligned(fromByteOffset: addressOffset, as: UInt32.self)
        let newAddress = address.bigEndian
        header.storeBytes(of: newAddress, toByteOffset: addressOffset, as: UInt32.self)
        // ~old + new of the address, as 16-bit words (at most 4 × 0xFFFF: no overflow).
        let addressDelta =
            (~oldAddress &>> 16) &+ (~oldAddress & 0xFFFF) &+ (newAddress &>> 16) &+ (newAddress & 0xFFFF)
        let ipChecksum = header.loadUnaligned(fromByteOffset: 10, as: UInt16.self)
        header.storeBytes(of: Checksum.finish(UInt32(~ipChecksum) &+ addressDelta), toByteOffset: 10, as: UInt16.self)

        let segment = p + transport
        let portOffset = source ? 0 : 2
        let oldPort = segment.loadUnaligned(fromByteOffset: portOffset, as: UInt16.self)
        let newPort = port.bigEndian
        segment.storeBytes(of: newPort, toByteOffset: portOffset, as: UInt16.self)
        let delta = addressDelta &+ UInt32(~oldPort) &+ UInt32(newPort)
        if protocolNumber == TransportProtocol.tcp.rawValue {
            let checksum = segment.loadUnaligned(fromByteOffset: 16, as: UInt16.self)
            segment.storeBytes(of: Checksum.finish(UInt32(~checksum) &+ delta), toByteOffset: 16, as: UInt16.self)
        } else {
            let checksum = segment.loadUnaligned(fromByteOffset: 6, as: UInt16.self)
            // RFC 768: 0 means "no checksum" and stays; a computed 0 is sent as 0xFFFF.
            guard checksum != 0 else { return }
            let updated = Checksum.finish(UInt32(~checksum) &+ delta)
            segment.storeBytes(of: updated == 0 ? 0xFFFF : updated, toByteOffset: 6, as: UInt16.self)
        }
    }

    /// Writes outer Ethernet + IPv4 + GRE (docs/packets.md "What nvlb sends") at `p`, in front of
    /// an inner frame of `innerLength` bytes. `source` and `ttl` must be the ones
    /// summed into `checksumBase` (`PolicySnapshot.outerChecksumBase`).
    @inlinable @inline(__always)
    static func encapsulate(
        at p: UnsafeMutableRawPointer, sourceMAC: UInt64, destinationMAC: UInt64, source: UInt32, destination: UInt32,
        tos: UInt8, ttl: UInt8, innerLength: Int, key: UInt32, checksumBase: UInt32
    ) {
        let ethernet = EthernetHeader(p)
        ethernet.destination = MACAddress(rawValue: destinationMAC)
        ethernet.source = MACAddress(rawValue: sourceMAC)
        ethernet.etherType = EthernetHeader.etherTypeIPv4
        let ip = p + EthernetHeader.size
        // Version 4, IHL 5, TOS; total length; identification 0; DF; TTL; GRE.
        ip.storeBytes(of: (UInt16(0x45) << 8 | UInt16(tos)).bigEndian, toByteOffset: 0, as: UInt16.self)
        let totalLength = UInt16(truncatingIfNeeded: IPv4Header.minimumSize + GREHeader.size + innerLength)
        ip.storeBytes(of: totalLength.bigEndian, toByteOffset: 2, as: UInt16.self)
        ip.storeBytes(of: UInt32(0x0000_4000).bigEndian, toByteOffset: 4, as: UInt32.self)
        ip.storeBytes(of: (UInt16(ttl) << 8 | 47).bigEndian, toByteOffset: 8, as: UInt16.self)
        ip.storeBytes(of: source.bigEndian, toByteOffset: 12, as: UInt32.self)
        ip.storeBytes(of: destination.bigEndian, toByteOffset: 16, as: UInt32.self)
        // The constant words are summed once per policy (`checksumBase`).
        let sum = checksumBase &+ UInt32(tos) &+ UInt32(totalLength) &+ (destination >> 16) &+ (destination & 0xFFFF)
        ip.storeBytes(of: Checksum.finish(sum).bigEndian, toByteOffset: 10, as: UInt16.self)
        let gre = GREHeader(ip + IPv4Header.minimumSize)
        gre.flagsVersion = GREHeader.nvgreFlagsVersion
        gre.protocolType = GREHeader.protocolTransparentEthernet
        gre.key = key
    }
}

extension DataplaneWorker {
    /// The NVGRE FlowID of an emitted packet (docs/packets.md "What nvlb sends"): an 8-bit hash of its inner
    /// 5-tuple with `underlay.flow_id: hash`, 0 with `zero`.
    @inlinable @inline(__always)
    static func flowID(
        _ s: PolicySnapshot, protocolNumber: UInt8, source: UInt32, sourcePort: UInt16, destination: UInt32,
        destinationPort: UInt16
    ) -> UInt8 {
        guard s.flowIDFromHash else { return 0 }
        return s.hasher.flowID(
            protocolNumber: protocolNumber, source: source, sourcePort: sourcePort, destination: destination,
            destinationPort: destinationPort)
    }
}
