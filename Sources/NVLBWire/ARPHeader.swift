/// A zero-copy view of an Ethernet/IPv4 ARP packet (RFC 826), 28 bytes, at `base`
/// (the byte after the Ethernet header). No bounds checks: the caller guarantees
/// `ARPHeader.size` bytes. Use `isEthernetIPv4` before trusting the address fields.
@frozen
public struct ARPHeader {
    /// The first byte of the ARP packet (the hardware type).
    public let base: UnsafeMutableRawPointer

    /// A view of the ARP packet starting at `base`.
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Size in bytes of an Ethernet/IPv4 ARP packet.
    @inlinable public static var size: Int { 28 }
    /// Hardware type Ethernet.
    @inlinable public static var hardwareTypeEthernet: UInt16 { 1 }
    /// Protocol type IPv4 (the IPv4 EtherType).
    @inlinable public static var protocolTypeIPv4: UInt16 { 0x0800 }
    /// Operation code of a request.
    @inlinable public static var operationRequest: UInt16 { 1 }
    /// Operation code of a reply.
    @inlinable public static var operationReply: UInt16 { 2 }

    /// Hardware type (htype), bytes 0–1; 1 for Ethernet.
    @inlinable
    public var hardwareType: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 0, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 0) }
    }

    /// Protocol type (ptype), bytes 2–3; 0x0800 for IPv4.
    @inlinable
    public var protocolType: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 2, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 2) }
    }

    /// Hardware address length in bytes (hlen), byte 4; 6 for Ethernet.
    @inlinable
    public var hardwareLength: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 4, as: UInt8.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 4, as: UInt8.self) }
    }

    /// Protocol address length in bytes (plen), byte 5; 4 for IPv4.
    @inlinable
    public var protocolLength: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 5, as: UInt8.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 5, as: UInt8.self) }
    }

    /// Operation (oper), bytes 6–7: `operationRequest` (1) or `operationReply` (2).
    @inlinable
    public var operation: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 6, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 6) }
    }

    /// Sender hardware address (sha), bytes 8–13.
    @inlinable
    public var senderMAC: MACAddress {
        @inline(__always) get { base.loadMACAddress(fromByteOffset: 8) }
        @inline(__always) nonmutating set { base.storeMACAddress(newValue, toByteOffset: 8) }
    }

    /// Sender protocol address (spa), bytes 14–17.
    @inlinable
    public var senderIP: IPv4Address {
        @inline(__always) get { base.loadIPv4Address(fromByteOffset: 14) }
        @inline(__always) nonmutating set { base.storeIPv4Address(newValue, toByteOffset: 14) }
    }

    /// Target hardware address (tha), bytes 18–23; all zero in a request.
    @inlinable
    public var targetMAC: MACAddress {
        @inline(__always) get { base.loadMACAddress(fromByteOffset: 18) }
        @inline(__always) nonmutating set { base.storeMACAddress(newValue, toByteOffset: 18) }
    }

    /// Target protocol address (tpa), bytes 24–27: the address being resolved in a request.
    @inlinable
    public var targetIP: IPv4Address {
        @inline(__always) get { base.loadIPv4Address(fromByteOffset: 24) }
        @inline(__always) nonmutating set { base.storeIPv4Address(newValue, toByteOffset: 24) }
    }

    /// True when the fixed part says Ethernet/IPv4 (htype 1, ptype 0x0800, hlen 6, plen 4):
    /// one 48-bit comparison.
    @inlinable
    public var isEthernetIPv4: Bool {
        @inline(__always) get {
            let fixed = base.loadBigEndian(fromByteOffset: 0, as: UInt32.self)
            let lengths = base.loadBigEndian(fromByteOffset: 4, as: UInt16.self)
            return fixed == 0x0001_0800 && lengths == 0x0604
        }
    }
}
