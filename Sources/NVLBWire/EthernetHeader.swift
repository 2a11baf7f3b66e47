/// A zero-copy view of an Ethernet II header (14 bytes: destination MAC, source MAC,
/// EtherType) at `base`. The view does not own the memory and checks no bounds: the
/// caller guarantees `EthernetHeader.size` readable (and, for setters, writable) bytes.
@frozen
public struct EthernetHeader {
    /// The first byte of the header (the destination MAC).
    public let base: UnsafeMutableRawPointer

    /// A view of the header starting at `base`.
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Header size in bytes, without an 802.1Q tag.
    @inlinable public static var size: Int { 14 }
    /// EtherType IPv4.
    @inlinable public static var etherTypeIPv4: UInt16 { 0x0800 }
    /// EtherType ARP.
    @inlinable public static var etherTypeARP: UInt16 { 0x0806 }
    /// EtherType IPv6.
    @inlinable public static var etherTypeIPv6: UInt16 { 0x86DD }
    /// EtherType (TPID) of an IEEE 802.1Q VLAN tag.
    @inlinable public static var etherTypeVLAN: UInt16 { 0x8100 }
    /// EtherType (TPID) of an IEEE 802.1ad (QinQ) service tag.
    @inlinable public static var etherTypeQinQ: UInt16 { 0x88A8 }
    /// EtherType of transparent Ethernet bridging (the protocol NVGRE carries).
    @inlinable public static var etherTypeTransparentEthernet: UInt16 { 0x6558 }

    /// Destination MAC address, bytes 0–5.
    @inlinable
    public var destination: MACAddress {
        @inline(__always) get { base.loadMACAddress(fromByteOffset: 0) }
        @inline(__always) nonmutating set { base.storeMACAddress(newValue, toByteOffset: 0) }
    }

    /// Source MAC address, bytes 6–11.
    @inlinable
    public var source: MACAddress {
        @inline(__always) get { base.loadMACAddress(fromByteOffset: 6) }
        @inline(__always) nonmutating set { base.storeMACAddress(newValue, toByteOffset: 6) }
    }

    /// EtherType (or, for a tagged frame, the tag's TPID), bytes 12–13, host order.
    @inlinable
    public var etherType: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 12, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 12) }
    }

    /// True when `etherType` is an 802.1Q or 802.1ad tag: a `VLANTag` follows at offset 12.
    @inlinable
    public var isTagged: Bool {
        @inline(__always) get {
            let type = etherType
            return type == EthernetHeader.etherTypeVLAN || type == EthernetHeader.etherTypeQinQ
        }
    }

    /// The byte after the header (for an untagged frame, the start of the payload).
    @inlinable
    public var payload: UnsafeMutableRawPointer {
        @inline(__always) get { base + EthernetHeader.size }
    }
}
