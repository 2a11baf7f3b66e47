import NVLBPolicy
import NVLBBalancing
import NVLBWire

/// In-place header rewriting shared by every NAT path: address/port changes with
/// RFC 1624 incremental checksum updates, and the 42-byte NVGRE encapsulation.
@usableFromInline
enum Rewrite {
    /// Bytes NVGRE encapsulation adds: outer Ethernet, IPv4 (no options), GRE.
    @usableFromInline static let encapsulationSize = EthernetHeader.size + IPv4Header.minimumSize + GREHeader.size

    /// Replaces the IPv4 source (`source == true`) or destination address and the
    /// matching transport port, updating the IPv4 header checksum and the TCP/UDP
    /// checksum (pseudo-header included). A UDP checksum of 0 (none) stays 0.
    @inlinable @inline(__always)
    static func translate(
        _ p: UnsafeMutableRawPointer, ip: Int, transport: Int, protocolNumber: UInt8, source: Bool,
        address: UInt32, port: UInt16
    ) {
        let header = IPv4Header(p + ip)
        let oldAddress = source ? header.source.rawValue : header.destination.rawValue
        if source { header.source = IPv4Address(rawValue: address) } else { header.destination = IPv4Address(rawValue: address) }
        header.checksum = Checksum.updated(header.checksum, replacing32: oldAddress, with32: address)

        if protocolNumber == TransportProtocol.tcp.rawValue {
            let tcp = TCPHeader(p + transport)
            let oldPort = source ? tcp.sourcePort : tcp.destinationPort
            if source { tcp.sourcePort = port } else { tcp.destinationPort = port }
            var sum = Checksum.updated(tcp.checksum, replacing32: oldAddress, with32: address)
            sum = Checksum.updated(sum, replacing: oldPort, with: port)
            tcp.checksum = sum
        } else {
            let udp = UDPHeader(p + transport)
            let oldPort = source ? udp.sourcePort : udp.destinationPort
            if source { udp.sourcePort = port } else { udp.destinationPort = port }
            var sum = Checksum.updatedUDP(udp.checksum, replacing32: oldAddress, with32: address)
            sum = Checksum.updatedUDP(sum, replacing: oldPort, with: port)
            udp.checksum = sum
        }
    }

    /// Writes outer Ethernet + IPv4 + GRE (SPEC §2 "On send") at `p`, in front of
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
        var sum = checksumBase &+ UInt32(tos) &+ UInt32(totalLength) &+ (destination >> 16) &+ (destination & 0xFFFF)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        sum = (sum & 0xFFFF) &+ (sum >> 16)
        ip.storeBytes(of: (~UInt16(truncatingIfNeeded: sum)).bigEndian, toByteOffset: 10, as: UInt16.self)
        let gre = GREHeader(ip + IPv4Header.minimumSize)
        gre.flagsVersion = GREHeader.nvgreFlagsVersion
        gre.protocolType = GREHeader.protocolTransparentEthernet
        gre.key = key
    }
}

extension DataplaneWorker {
    /// The NVGRE FlowID of an emitted packet (SPEC §2): an 8-bit hash of its inner
    /// 5-tuple with `underlay.flow_id: hash`, 0 with `zero`.
    @inlinable @inline(__always)
    static func flowID(
        _ s: PolicySnapshot, protocolNumber: UInt8, source: UInt32, sourcePort: UInt16, destination: UInt32,
        destinationPort: UInt16
    ) -> UInt8 {
        guard s.flowIDFromHash else { return 0 }
        return FlowHasher.flowID(
            s.hasher.selectionHash(
                distribution: .fiveTuple, protocolNumber: protocolNumber, clientIP: source, clientPort: sourcePort,
                vip: destination, vipPort: destinationPort, clientVSID: 0))
    }
}
