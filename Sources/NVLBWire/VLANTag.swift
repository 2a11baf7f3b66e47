/// A zero-copy view of an IEEE 802.1Q / 802.1ad tag, 4 bytes (TPID, TCI) followed by
/// the encapsulated EtherType. `base` is the TPID, i.e. byte 12 of the Ethernet frame;
/// a tagged frame's payload starts at `base + VLANTag.size + 2` (frame offset 18).
@frozen
public struct VLANTag {
    /// The TPID byte (frame offset 12).
    public let base: UnsafeMutableRawPointer

    /// A view of the tag starting at `base` (the TPID).
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Size of the tag itself (TPID + TCI) in bytes: what tagging adds to a frame.
    @inlinable public static var size: Int { 4 }

    /// Tag protocol identifier (0x8100 or 0x88A8), host order.
    @inlinable
    public var tpid: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 0, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 0) }
    }

    /// Tag control information: priority (3 bits), DEI (1 bit), VLAN ID (12 bits).
    @inlinable
    public var tci: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 2, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 2) }
    }

    /// The 12-bit VLAN identifier (low bits of `tci`); setting keeps priority and DEI.
    @inlinable
    public var vlanID: UInt16 {
        @inline(__always) get { tci & 0x0FFF }
        @inline(__always) nonmutating set { tci = tci & 0xF000 | newValue & 0x0FFF }
    }

    /// The 3-bit priority code point (high bits of `tci`); setting keeps DEI and VLAN ID.
    @inlinable
    public var priority: UInt8 {
        @inline(__always) get { UInt8(truncatingIfNeeded: tci >> 13) }
        @inline(__always) nonmutating set { tci = tci & 0x1FFF | UInt16(newValue & 0x7) << 13 }
    }

    /// The EtherType of the tagged payload (frame offset 16), host order.
    @inlinable
    public var etherType: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 4, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 4) }
    }
}
