/// A zero-copy view of an IPv4 header (RFC 791) at `base`. No bounds checks: the caller
/// guarantees `IPv4Header.minimumSize` bytes before reading the fixed fields, and
/// `headerLength` bytes before touching options or computing the checksum.
@frozen
public struct IPv4Header {
    /// The first byte of the header (version and IHL).
    public let base: UnsafeMutableRawPointer

    /// A view of the header starting at `base`.
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Size in bytes of a header without options (IHL 5).
    @inlinable public static var minimumSize: Int { 20 }
    /// Byte offset of the header checksum.
    @inlinable public static var checksumOffset: Int { 10 }
    /// Protocol number of ICMP.
    @inlinable public static var protocolICMP: UInt8 { 1 }
    /// Protocol number of TCP.
    @inlinable public static var protocolTCP: UInt8 { 6 }
    /// Protocol number of UDP.
    @inlinable public static var protocolUDP: UInt8 { 17 }
    /// Protocol number of GRE.
    @inlinable public static var protocolGRE: UInt8 { 47 }

    /// Version (high nibble of byte 0); 4 for IPv4. Setting keeps the IHL.
    @inlinable
    public var version: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 0, as: UInt8.self) >> 4 }
        @inline(__always) nonmutating set {
            let ihl = base.load(fromByteOffset: 0, as: UInt8.self) & 0x0F
            base.storeBytes(of: newValue << 4 | ihl, toByteOffset: 0, as: UInt8.self)
        }
    }

    /// Internet header length in 32-bit words (low nibble of byte 0); 5 without options.
    /// Setting keeps the version.
    @inlinable
    public var ihl: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 0, as: UInt8.self) & 0x0F }
        @inline(__always) nonmutating set {
            let version = base.load(fromByteOffset: 0, as: UInt8.self) & 0xF0
            base.storeBytes(of: version | newValue & 0x0F, toByteOffset: 0, as: UInt8.self)
        }
    }

    /// Header length in bytes (`ihl * 4`, 0–60), options included.
    @inlinable
    public var headerLength: Int {
        @inline(__always) get { Int(ihl) &<< 2 }
    }

    /// Type of service / DSCP+ECN byte, byte 1.
    @inlinable
    public var tos: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 1, as: UInt8.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 1, as: UInt8.self) }
    }

    /// Total length in bytes of the datagram (header + payload), bytes 2–3.
    @inlinable
    public var totalLength: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 2, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 2) }
    }

    /// Identification, bytes 4–5.
    @inlinable
    public var identification: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 4, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 4) }
    }

    /// The raw flags and fragment offset word, bytes 6–7: reserved bit 0x8000, DF 0x4000,
    /// MF 0x2000, fragment offset (in 8-byte units) in the low 13 bits.
    @inlinable
    public var flagsAndFragmentOffset: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 6, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 6) }
    }

    /// The don't-fragment flag (DF).
    @inlinable
    public var dontFragment: Bool {
        @inline(__always) get { flagsAndFragmentOffset & 0x4000 != 0 }
        @inline(__always) nonmutating set {
            flagsAndFragmentOffset = flagsAndFragmentOffset & ~0x4000 | (newValue ? 0x4000 : 0)
        }
    }

    /// The more-fragments flag (MF).
    @inlinable
    public var moreFragments: Bool {
        @inline(__always) get { flagsAndFragmentOffset & 0x2000 != 0 }
        @inline(__always) nonmutating set {
            flagsAndFragmentOffset = flagsAndFragmentOffset & ~0x2000 | (newValue ? 0x2000 : 0)
        }
    }

    /// Fragment offset in 8-byte units (13 bits); multiply by 8 for bytes. Setting keeps the flags.
    @inlinable
    public var fragmentOffset: UInt16 {
        @inline(__always) get { flagsAndFragmentOffset & 0x1FFF }
        @inline(__always) nonmutating set {
            flagsAndFragmentOffset = flagsAndFragmentOffset & 0xE000 | newValue & 0x1FFF
        }
    }

    /// True when this datagram is a fragment of a larger one: MF set or a non-zero offset.
    @inlinable
    public var isFragment: Bool {
        @inline(__always) get { flagsAndFragmentOffset & 0x3FFF != 0 }
    }

    /// True for the first fragment of a fragmented datagram (MF set, offset 0): it carries
    /// the transport header. False for unfragmented datagrams and later fragments.
    @inlinable
    public var isFirstFragment: Bool {
        @inline(__always) get { flagsAndFragmentOffset & 0x3FFF == 0x2000 }
    }

    /// True for a fragment other than the first (offset ≠ 0): no transport header follows.
    @inlinable
    public var isNonFirstFragment: Bool {
        @inline(__always) get { flagsAndFragmentOffset & 0x1FFF != 0 }
    }

    /// Time to live, byte 8.
    @inlinable
    public var ttl: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 8, as: UInt8.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 8, as: UInt8.self) }
    }

    /// Protocol number of the payload, byte 9 (6 TCP, 17 UDP, 47 GRE).
    @inlinable
    public var protocolNumber: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 9, as: UInt8.self) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue, toByteOffset: 9, as: UInt8.self) }
    }

    /// Header checksum, bytes 10–11, host order (as a number, e.g. 0xB861).
    @inlinable
    public var checksum: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 10, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 10) }
    }

    /// Source address, bytes 12–15.
    @inlinable
    public var source: IPv4Address {
        @inline(__always) get { base.loadIPv4Address(fromByteOffset: 12) }
        @inline(__always) nonmutating set { base.storeIPv4Address(newValue, toByteOffset: 12) }
    }

    /// Destination address, bytes 16–19.
    @inlinable
    public var destination: IPv4Address {
        @inline(__always) get { base.loadIPv4Address(fromByteOffset: 16) }
        @inline(__always) nonmutating set { base.storeIPv4Address(newValue, toByteOffset: 16) }
    }

    /// The first byte after the header and its options (`base + headerLength`).
    @inlinable
    public var payload: UnsafeMutableRawPointer {
        @inline(__always) get { base + headerLength }
    }

    /// The header checksum this header should carry: RFC 1071 over `headerLength` bytes with
    /// the checksum field taken as zero. Reads `headerLength` bytes; writes nothing.
    /// Requires `ihl >= 5` (validate before calling on untrusted input).
    @inlinable
    public func computeChecksum() -> UInt16 {
        let length = headerLength
        var sum = Checksum.partialSum(UnsafeRawPointer(base), count: IPv4Header.checksumOffset)
        sum = Checksum.partialSum(
            UnsafeRawPointer(base + 12), count: length - 12, initial: sum)
        return Checksum.finish(sum)
    }

    /// Stores `computeChecksum()` into `checksum`.
    @inlinable
    public func updateChecksum() {
        checksum = computeChecksum()
    }

    /// True when the stored checksum verifies (the sum over the whole header is 0xFFFF).
    @inlinable
    public var isChecksumValid: Bool {
        Checksum.internet(UnsafeRawPointer(base), count: headerLength) == 0
    }
}
