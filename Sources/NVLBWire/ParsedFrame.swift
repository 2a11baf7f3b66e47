/// Why `ParsedFrame` rejected a frame.
public enum FrameParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A layer needs more bytes than remain: `needed` bytes from its start, `available` present.
    case truncated(layer: ParsedLayer, needed: Int, available: Int)
    /// A length or header field is inconsistent (e.g. IHL < 5, total length < header length).
    case invalid(layer: ParsedLayer, reason: String)

    /// A one-line explanation.
    public var description: String {
        switch self {
        case let .truncated(layer, needed, available):
            "\(layer): truncated (\(available) of \(needed) bytes)"
        case let .invalid(layer, reason):
            "\(layer): \(reason)"
        }
    }
}

/// The protocol layers `ParsedFrame` decodes, for error reports.
public enum ParsedLayer: String, Hashable, Sendable {
    /// Ethernet header.
    case ethernet
    /// 802.1Q/802.1ad tag.
    case vlan
    /// Ethernet/IPv4 ARP.
    case arp
    /// IPv4 header and datagram.
    case ipv4
    /// GRE / NVGRE header.
    case gre
    /// TCP header and segment.
    case tcp
    /// UDP header and datagram.
    case udp
}

/// A fully decoded Ethernet frame, every layer as plain values: for tests (checking emitted
/// frames field by field) and tools. Safe on any input (never traps, bounds-checked),
/// allocates freely; not for the per-packet path, which uses the header views.
///
/// Decodes Ethernet (one optional 802.1Q/802.1ad tag), ARP, IPv4 (options, fragments),
/// TCP, UDP and GRE, recursing into the Ethernet frame NVGRE carries. Truncated or
/// inconsistent input throws `FrameParseError`; `ParsedFrame(bytes)` returns nil instead.
/// Bytes after the IPv4 datagram or ARP packet (Ethernet padding) are kept in `trailer`.
public struct ParsedFrame: Hashable, Sendable {
    /// Destination MAC address.
    public var destination: MACAddress
    /// Source MAC address.
    public var source: MACAddress
    /// The VLAN tag, when the frame has one.
    public var vlan: ParsedVLAN?
    /// The EtherType of the payload (after the tag, if any).
    public var etherType: UInt16
    /// The decoded payload.
    public var payload: ParsedPayload
    /// Bytes after the IPv4 datagram or ARP packet (padding); empty for other payloads.
    public var trailer: [UInt8]

    /// Decodes `bytes`; nil when truncated or inconsistent.
    public init?(_ bytes: [UInt8]) {
        guard let frame = try? ParsedFrame.parse(bytes) else { return nil }
        self = frame
    }

    /// Decodes `bytes`, throwing the first problem found.
    public static func parse(_ bytes: [UInt8]) throws(FrameParseError) -> ParsedFrame {
        try parse(bytes[...])
    }

    /// Decodes the frame in `bytes` (any slice), throwing the first problem found.
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(FrameParseError) -> ParsedFrame {
        let reader = ByteReader(bytes)
        guard reader.remaining >= EthernetHeader.size else {
            throw .truncated(layer: .ethernet, needed: EthernetHeader.size, available: reader.remaining)
        }
        let destination = reader.mac(at: 0)
        let source = reader.mac(at: 6)
        var etherType = reader.u16(at: 12)
        var vlan: ParsedVLAN?
        var offset = EthernetHeader.size
        if etherType == EthernetHeader.etherTypeVLAN || etherType == EthernetHeader.etherTypeQinQ {
            guard reader.remaining >= 18 else {
                throw .truncated(layer: .vlan, needed: 18, available: reader.remaining)
            }
            vlan = ParsedVLAN(tpid: etherType, tci: reader.u16(at: 14))
            etherType = reader.u16(at: 16)
            offset = 18
        }
        let rest = reader.slice(from: offset)
        let payload: ParsedPayload
        var trailer: [UInt8] = []
        switch etherType {
        case EthernetHeader.etherTypeARP:
            payload = .arp(try ParsedARP.parse(rest))
            trailer = Array(rest.dropFirst(ARPHeader.size))
        case EthernetHeader.etherTypeIPv4:
            let ip = try ParsedIPv4.parse(rest)
            payload = .ipv4(ip)
            trailer = Array(rest.dropFirst(Int(ip.totalLength)))
        default:
            payload = .other(Array(rest))
        }
        return ParsedFrame(
            destination: destination, source: source, vlan: vlan, etherType: etherType, payload: payload,
            trailer: trailer)
    }

    /// Memberwise initializer.
    public init(
        destination: MACAddress, source: MACAddress, vlan: ParsedVLAN?, etherType: UInt16,
        payload: ParsedPayload, trailer: [UInt8]
    ) {
        self.destination = destination
        self.source = source
        self.vlan = vlan
        self.etherType = etherType
        self.payload = payload
        self.trailer = trailer
    }

    /// The ARP packet, if this is an ARP frame.
    public var arp: ParsedARP? {
        if case let .arp(arp) = payload { arp } else { nil }
    }

    /// The IPv4 datagram, if this is an IPv4 frame.
    public var ipv4: ParsedIPv4? {
        if case let .ipv4(ip) = payload { ip } else { nil }
    }

    /// The TCP segment of an IPv4 frame (not of the NVGRE inner frame; see `inner`).
    public var tcp: ParsedTCP? { ipv4?.tcp }

    /// The UDP datagram of an IPv4 frame (not of the NVGRE inner frame; see `inner`).
    public var udp: ParsedUDP? { ipv4?.udp }

    /// The GRE header of an IPv4/GRE frame.
    public var gre: ParsedGRE? { ipv4?.gre }

    /// The Ethernet frame carried by NVGRE (GRE protocol 0x6558), if any.
    public var inner: ParsedFrame? { gre?.inner }

    /// True when every checksum that can be verified is correct: the IPv4 header checksum,
    /// TCP and UDP checksums (a UDP checksum of 0 counts as correct: none), at every level of
    /// NVGRE nesting. Transport checksums of fragments cannot be verified and are not counted.
    public var checksumsValid: Bool {
        guard let ip = ipv4 else { return true }
        guard ip.headerChecksumValid else { return false }
        switch ip.payload {
        case .tcp(let tcp): return tcp.checksumValid ?? true
        case .udp(let udp): return udp.checksumValid ?? true
        case .gre(let gre): return gre.inner?.checksumsValid ?? true
        case .fragment, .other: return true
        }
    }
}

/// A decoded 802.1Q / 802.1ad tag.
public struct ParsedVLAN: Hashable, Sendable {
    /// Tag protocol identifier (0x8100 or 0x88A8).
    public var tpid: UInt16
    /// Tag control information (priority, DEI, VLAN ID).
    public var tci: UInt16
    /// The 12-bit VLAN ID.
    public var vlanID: UInt16 { tci & 0x0FFF }
    /// The 3-bit priority.
    public var priority: UInt8 { UInt8(tci >> 13) }

    /// A tag with the given TPID and TCI.
    public init(tpid: UInt16, tci: UInt16) {
        self.tpid = tpid
        self.tci = tci
    }
}

/// The payload of an Ethernet frame.
public enum ParsedPayload: Hashable, Sendable {
    /// Ethernet/IPv4 ARP.
    case arp(ParsedARP)
    /// IPv4.
    case ipv4(ParsedIPv4)
    /// Any other EtherType, raw.
    case other([UInt8])
}

/// A decoded Ethernet/IPv4 ARP packet.
public struct ParsedARP: Hashable, Sendable {
    /// Hardware type (1 for Ethernet).
    public var hardwareType: UInt16
    /// Protocol type (0x0800 for IPv4).
    public var protocolType: UInt16
    /// Hardware address length (6).
    public var hardwareLength: UInt8
    /// Protocol address length (4).
    public var protocolLength: UInt8
    /// Operation: 1 request, 2 reply.
    public var operation: UInt16
    /// Sender hardware address.
    public var senderMAC: MACAddress
    /// Sender protocol address.
    public var senderIP: IPv4Address
    /// Target hardware address.
    public var targetMAC: MACAddress
    /// Target protocol address.
    public var targetIP: IPv4Address

    /// Memberwise initializer (for expected values in tests).
    public init(
        hardwareType: UInt16, protocolType: UInt16, hardwareLength: UInt8, protocolLength: UInt8,
        operation: UInt16, senderMAC: MACAddress, senderIP: IPv4Address, targetMAC: MACAddress,
        targetIP: IPv4Address
    ) {
        self.hardwareType = hardwareType
        self.protocolType = protocolType
        self.hardwareLength = hardwareLength
        self.protocolLength = protocolLength
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    static func parse(_ bytes: ArraySlice<UInt8>) throws(FrameParseError) -> ParsedARP {
        let reader = ByteReader(bytes)
        guard reader.remaining >= ARPHeader.size else {
            throw .truncated(layer: .arp, needed: ARPHeader.size, available: reader.remaining)
        }
        let arp = ParsedARP(
            hardwareType: reader.u16(at: 0), protocolType: reader.u16(at: 2), hardwareLength: reader.u8(at: 4),
            protocolLength: reader.u8(at: 5), operation: reader.u16(at: 6), senderMAC: reader.mac(at: 8),
            senderIP: IPv4Address(rawValue: reader.u32(at: 14)), targetMAC: reader.mac(at: 18),
            targetIP: IPv4Address(rawValue: reader.u32(at: 24)))
        guard arp.hardwareLength == 6, arp.protocolLength == 4 else {
            throw .invalid(
                layer: .arp, reason: "not Ethernet/IPv4 (hlen \(arp.hardwareLength), plen \(arp.protocolLength))")
        }
        return arp
    }
}

/// A decoded IPv4 datagram.
public struct ParsedIPv4: Hashable, Sendable {
    /// Version (4).
    public var version: UInt8
    /// Header length in 32-bit words.
    public var ihl: UInt8
    /// Type of service byte.
    public var tos: UInt8
    /// Total length in bytes.
    public var totalLength: UInt16
    /// Identification.
    public var identification: UInt16
    /// DF flag.
    public var dontFragment: Bool
    /// MF flag.
    public var moreFragments: Bool
    /// Fragment offset in 8-byte units.
    public var fragmentOffset: UInt16
    /// Time to live.
    public var ttl: UInt8
    /// Protocol number.
    public var protocolNumber: UInt8
    /// Header checksum as carried.
    public var checksum: UInt16
    /// Source address.
    public var source: IPv4Address
    /// Destination address.
    public var destination: IPv4Address
    /// Option bytes (header bytes 20..<headerLength).
    public var options: [UInt8]
    /// True when the header checksum verifies.
    public var headerChecksumValid: Bool
    /// The decoded payload.
    public var payload: ParsedIPv4Payload

    /// Header length in bytes.
    public var headerLength: Int { Int(ihl) * 4 }
    /// True for any fragment (MF set or offset ≠ 0).
    public var isFragment: Bool { moreFragments || fragmentOffset != 0 }

    /// The TCP segment, if the payload is one.
    public var tcp: ParsedTCP? {
        if case let .tcp(tcp) = payload { tcp } else { nil }
    }
    /// The UDP datagram, if the payload is one.
    public var udp: ParsedUDP? {
        if case let .udp(udp) = payload { udp } else { nil }
    }
    /// The GRE packet, if the payload is one.
    public var gre: ParsedGRE? {
        if case let .gre(gre) = payload { gre } else { nil }
    }

    static func parse(_ bytes: ArraySlice<UInt8>) throws(FrameParseError) -> ParsedIPv4 {
        let reader = ByteReader(bytes)
        guard reader.remaining >= IPv4Header.minimumSize else {
            throw .truncated(layer: .ipv4, needed: IPv4Header.minimumSize, available: reader.remaining)
        }
        let version = reader.u8(at: 0) >> 4
        let ihl = reader.u8(at: 0) & 0x0F
        let headerLength = Int(ihl) * 4
        let totalLength = reader.u16(at: 2)
        guard version == 4 else { throw .invalid(layer: .ipv4, reason: "version \(version)") }
        guard ihl >= 5 else { throw .invalid(layer: .ipv4, reason: "IHL \(ihl) < 5") }
        guard reader.remaining >= headerLength else {
            throw .truncated(layer: .ipv4, needed: headerLength, available: reader.remaining)
        }
        guard Int(totalLength) >= headerLength else {
            throw .invalid(layer: .ipv4, reason: "total length \(totalLength) < header length \(headerLength)")
        }
        guard reader.remaining >= Int(totalLength) else {
            throw .truncated(layer: .ipv4, needed: Int(totalLength), available: reader.remaining)
        }
        let header = Array(reader.slice(0, headerLength))
        let word = reader.u16(at: 6)
        let source = IPv4Address(rawValue: reader.u32(at: 12))
        let destination = IPv4Address(rawValue: reader.u32(at: 16))
        let protocolNumber = reader.u8(at: 9)
        let fragmentOffset = word & 0x1FFF
        let moreFragments = word & 0x2000 != 0
        let body = reader.slice(headerLength, Int(totalLength))
        let payload: ParsedIPv4Payload
        if fragmentOffset != 0 {
            payload = .fragment(Array(body))
        } else {
            // A first fragment carries the transport header but not the whole segment: parse
            // the header, skip length checks against the (partial) datagram and the checksum.
            let partial = moreFragments
            switch protocolNumber {
            case IPv4Header.protocolTCP:
                payload = .tcp(try ParsedTCP.parse(body, source: source, destination: destination, partial: partial))
            case IPv4Header.protocolUDP:
                payload = .udp(try ParsedUDP.parse(body, source: source, destination: destination, partial: partial))
            case IPv4Header.protocolGRE where !partial:
                payload = .gre(try ParsedGRE.parse(body))
            default:
                payload = .other(Array(body))
            }
        }
        return ParsedIPv4(
            version: version, ihl: ihl, tos: reader.u8(at: 1), totalLength: totalLength,
            identification: reader.u16(at: 4), dontFragment: word & 0x4000 != 0, moreFragments: moreFragments,
            fragmentOffset: fragmentOffset, ttl: reader.u8(at: 8), protocolNumber: protocolNumber,
            checksum: reader.u16(at: 10), source: source, destination: destination,
            options: Array(header[IPv4Header.minimumSize...]),
            headerChecksumValid: Checksum.internet(header) == 0, payload: payload)
    }
}

/// The payload of an IPv4 datagram.
public indirect enum ParsedIPv4Payload: Hashable, Sendable {
    /// TCP (also the first fragment of a fragmented segment).
    case tcp(ParsedTCP)
    /// UDP (also the first fragment of a fragmented datagram).
    case udp(ParsedUDP)
    /// GRE (unfragmented only).
    case gre(ParsedGRE)
    /// The data of a non-first fragment, raw.
    case fragment([UInt8])
    /// Any other protocol, raw.
    case other([UInt8])
}

/// A decoded TCP segment.
public struct ParsedTCP: Hashable, Sendable {
    /// Source port.
    public var sourcePort: UInt16
    /// Destination port.
    public var destinationPort: UInt16
    /// Sequence number.
    public var sequenceNumber: UInt32
    /// Acknowledgment number.
    public var acknowledgmentNumber: UInt32
    /// Data offset in 32-bit words.
    public var dataOffset: UInt8
    /// Flags.
    public var flags: TCPFlags
    /// Window.
    public var window: UInt16
    /// Checksum as carried.
    public var checksum: UInt16
    /// Urgent pointer.
    public var urgentPointer: UInt16
    /// Option bytes.
    public var options: [UInt8]
    /// Payload bytes.
    public var payload: [UInt8]
    /// Whether the checksum verifies over the IPv4 pseudo-header; nil for a first fragment.
    public var checksumValid: Bool?

    static func parse(
        _ bytes: ArraySlice<UInt8>, source: IPv4Address, destination: IPv4Address, partial: Bool
    ) throws(FrameParseError) -> ParsedTCP {
        let reader = ByteReader(bytes)
        guard reader.remaining >= TCPHeader.minimumSize else {
            throw .truncated(layer: .tcp, needed: TCPHeader.minimumSize, available: reader.remaining)
        }
        let dataOffset = reader.u8(at: 12) >> 4
        let headerLength = Int(dataOffset) * 4
        guard dataOffset >= 5 else { throw .invalid(layer: .tcp, reason: "data offset \(dataOffset) < 5") }
        guard reader.remaining >= headerLength else {
            throw .truncated(layer: .tcp, needed: headerLength, available: reader.remaining)
        }
        let valid: Bool? =
            partial ? nil : Checksum.transport(bytes, source: source, destination: destination, protocolNumber: 6) == 0
        return ParsedTCP(
            sourcePort: reader.u16(at: 0), destinationPort: reader.u16(at: 2), sequenceNumber: reader.u32(at: 4),
            acknowledgmentNumber: reader.u32(at: 8), dataOffset: dataOffset,
            flags: TCPFlags(rawValue: reader.u8(at: 13)),
            window: reader.u16(at: 14), checksum: reader.u16(at: 16), urgentPointer: reader.u16(at: 18),
            options: Array(reader.slice(TCPHeader.minimumSize, headerLength)),
            payload: Array(reader.slice(from: headerLength)), checksumValid: valid)
    }
}

/// A decoded UDP datagram.
public struct ParsedUDP: Hashable, Sendable {
    /// Source port.
    public var sourcePort: UInt16
    /// Destination port.
    public var destinationPort: UInt16
    /// Length field (header + payload).
    public var length: UInt16
    /// Checksum as carried; 0 means none.
    public var checksum: UInt16
    /// Payload bytes (`length - 8` of them; for a first fragment, what the fragment holds).
    public var payload: [UInt8]
    /// Whether the checksum verifies (true when it is 0, "none"); nil for a first fragment.
    public var checksumValid: Bool?

    static func parse(
        _ bytes: ArraySlice<UInt8>, source: IPv4Address, destination: IPv4Address, partial: Bool
    ) throws(FrameParseError) -> ParsedUDP {
        let reader = ByteReader(bytes)
        guard reader.remaining >= UDPHeader.size else {
            throw .truncated(layer: .udp, needed: UDPHeader.size, available: reader.remaining)
        }
        let length = reader.u16(at: 4)
        let checksum = reader.u16(at: 6)
        guard length >= 8 else { throw .invalid(layer: .udp, reason: "length \(length) < 8") }
        if partial {
            return ParsedUDP(
                sourcePort: reader.u16(at: 0), destinationPort: reader.u16(at: 2), length: length, checksum: checksum,
                payload: Array(reader.slice(from: UDPHeader.size)), checksumValid: nil)
        }
        guard reader.remaining >= Int(length) else {
            throw .truncated(layer: .udp, needed: Int(length), available: reader.remaining)
        }
        let datagram = reader.slice(0, Int(length))
        let valid =
            checksum == 0
            || Checksum.transport(datagram, source: source, destination: destination, protocolNumber: 17) == 0
        return ParsedUDP(
            sourcePort: reader.u16(at: 0), destinationPort: reader.u16(at: 2), length: length, checksum: checksum,
            payload: Array(reader.slice(UDPHeader.size, Int(length))), checksumValid: valid)
    }
}

/// A decoded GRE packet (RFC 2784/2890); NVGRE when `isNVGRE`.
public struct ParsedGRE: Hashable, Sendable {
    /// Flags and version word (0x2000 for NVGRE).
    public var flagsVersion: UInt16
    /// Protocol type (0x6558 for NVGRE).
    public var protocolType: UInt16
    /// The key, when the K bit is set.
    public var key: UInt32?
    /// The inner Ethernet frame, when the protocol is 0x6558.
    public var inner: ParsedFrame?
    /// The payload bytes after the GRE header (the inner frame, raw).
    public var payload: [UInt8]

    /// The 24-bit VSID (high bits of the key), when there is a key.
    public var vsid: UInt32? { key.map { $0 >> 8 } }
    /// The 8-bit FlowID (low byte of the key), when there is a key.
    public var flowID: UInt8? { key.map { UInt8(truncatingIfNeeded: $0) } }
    /// True when flags/version is 0x2000 and the protocol 0x6558.
    public var isNVGRE: Bool {
        flagsVersion == GREHeader.nvgreFlagsVersion && protocolType == GREHeader.protocolTransparentEthernet
    }

    static func parse(_ bytes: ArraySlice<UInt8>) throws(FrameParseError) -> ParsedGRE {
        let reader = ByteReader(bytes)
        guard reader.remaining >= 4 else { throw .truncated(layer: .gre, needed: 4, available: reader.remaining) }
        let flagsVersion = reader.u16(at: 0)
        let protocolType = reader.u16(at: 2)
        // Optional fields in order: checksum+reserved (C, 0x8000), key (K, 0x2000), sequence (S, 0x1000).
        var length = 4
        var keyOffset: Int?
        if flagsVersion & 0x8000 != 0 { length += 4 }
        if flagsVersion & 0x2000 != 0 {
            keyOffset = length
            length += 4
        }
        if flagsVersion & 0x1000 != 0 { length += 4 }
        guard reader.remaining >= length else {
            throw .truncated(layer: .gre, needed: length, available: reader.remaining)
        }
        let rest = reader.slice(from: length)
        let inner: ParsedFrame? =
            protocolType == GREHeader.protocolTransparentEthernet ? try ParsedFrame.parse(rest) : nil
        return ParsedGRE(
            flagsVersion: flagsVersion, protocolType: protocolType, key: keyOffset.map { reader.u32(at: $0) },
            inner: inner, payload: Array(rest))
    }
}

extension Checksum {
    /// `transport(_:count:source:destination:protocolNumber:)` over a byte slice.
    static func transport(
        _ bytes: ArraySlice<UInt8>, source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8
    ) -> UInt16 {
        bytes.withUnsafeBytes { buffer in
            let pseudo = pseudoHeaderSum(
                source: source, destination: destination, protocolNumber: protocolNumber, length: buffer.count)
            guard let base = buffer.baseAddress else { return finish(pseudo) }
            return finish(partialSum(base, count: buffer.count, initial: pseudo))
        }
    }
}

/// Bounds-checked big-endian reads from a byte slice at offsets relative to its start.
/// Callers check `remaining` first; the reads trap (never read out of bounds) otherwise.
struct ByteReader {
    let bytes: ArraySlice<UInt8>
    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }

    var remaining: Int { bytes.count }

    func u8(at offset: Int) -> UInt8 { bytes[bytes.startIndex + offset] }
    func u16(at offset: Int) -> UInt16 { UInt16(u8(at: offset)) << 8 | UInt16(u8(at: offset + 1)) }
    func u32(at offset: Int) -> UInt32 { UInt32(u16(at: offset)) << 16 | UInt32(u16(at: offset + 2)) }
    func mac(at offset: Int) -> MACAddress {
        MACAddress(rawValue: UInt64(u32(at: offset)) << 16 | UInt64(u16(at: offset + 4)))
    }
    func slice(_ from: Int, _ to: Int) -> ArraySlice<UInt8> {
        bytes[(bytes.startIndex + from)..<(bytes.startIndex + to)]
    }
    func slice(from: Int) -> ArraySlice<UInt8> { bytes[(bytes.startIndex + min(from, bytes.count))...] }
}
