/// A zero-copy view of an NVGRE header (RFC 7637), 8 bytes at `base`: the flags/version
/// word (0x2000: key present), the protocol type (0x6558) and the 32-bit key made of
/// the 24-bit VSID and the 8-bit FlowID. No bounds checks: the caller guarantees
/// `GREHeader.size` bytes.
@frozen
public struct GREHeader {
    /// The first byte of the GRE header (the flags/version word).
    public let base: UnsafeMutableRawPointer

    /// A view of the header starting at `base`.
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Size in bytes of an NVGRE header (GRE with key, no checksum, no sequence number).
    @inlinable public static var size: Int { 8 }
    /// The NVGRE flags/version word: C=0, K=1, S=0, version 0.
    @inlinable public static var nvgreFlagsVersion: UInt16 { 0x2000 }
    /// Protocol type of transparent Ethernet bridging, carried by NVGRE.
    @inlinable public static var protocolTransparentEthernet: UInt16 { 0x6558 }
    /// The first four bytes of every valid NVGRE header, as one big-endian word.
    @inlinable public static var nvgreFirstWord: UInt32 { 0x2000_6558 }
    /// Total bytes NVGRE encapsulation adds: outer Ethernet 14 + IPv4 20 (no options) + GRE 8
    /// = 42. The one definition of the constant: the data plane's headroom and rewrite, the
    /// frame builder and the traffic generator's MTU arithmetic use it.
    @inlinable public static var encapsulationOverhead: Int { EthernetHeader.size + IPv4Header.minimumSize + size }

    /// Flags and version, bytes 0–1; exactly `nvgreFlagsVersion` for NVGRE.
    @inlinable
    public var flagsVersion: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 0, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 0) }
    }

    /// Protocol type of the payload, bytes 2–3; `protocolTransparentEthernet` for NVGRE.
    @inlinable
    public var protocolType: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 2, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 2) }
    }

    /// True when flags/version and protocol type are exactly NVGRE's (one 32-bit compare).
    @inlinable
    public var isNVGRE: Bool {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 0, as: UInt32.self) == GREHeader.nvgreFirstWord }
    }

    /// The 32-bit key, bytes 4–7: `vsid << 8 | flowID`.
    @inlinable
    public var key: UInt32 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 4, as: UInt32.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 4) }
    }

    /// The 24-bit virtual subnet ID (high 24 bits of the key). Setting keeps the FlowID;
    /// bits above 24 of the new value are ignored.
    @inlinable
    public var vsid: UInt32 {
        @inline(__always) get { key >> 8 }
        @inline(__always) nonmutating set { key = newValue << 8 | key & 0xFF }
    }

    /// The 8-bit FlowID (low byte of the key). Setting keeps the VSID.
    @inlinable
    public var flowID: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 7, as: UInt8.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 7, as: UInt8.self) }
    }

    /// Writes a complete NVGRE header: flags/version 0x2000, protocol 0x6558 and
    /// key `vsid << 8 | flowID` (two stores).
    @inlinable @inline(__always)
    public func setNVGRE(vsid: UInt32, flowID: UInt8) {
        base.storeBigEndian(GREHeader.nvgreFirstWord, toByteOffset: 0)
        base.storeBigEndian(vsid << 8 | UInt32(flowID), toByteOffset: 4)
    }

    /// The first byte after the header (the inner Ethernet frame).
    @inlinable
    public var payload: UnsafeMutableRawPointer {
        @inline(__always) get { base + GREHeader.size }
    }
}
