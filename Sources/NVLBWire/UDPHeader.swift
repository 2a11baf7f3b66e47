/// A zero-copy view of a UDP header (RFC 768), 8 bytes at `base`. No bounds checks: the
/// caller guarantees `UDPHeader.size` bytes.
///
/// Over IPv4 a checksum of 0 means "no checksum"; a computed checksum of 0 is sent as
/// 0xFFFF. `computeChecksum` and `Checksum.updatedUDP` follow both rules.
@frozen
public struct UDPHeader {
    /// The first byte of the header (the source port).
    public let base: UnsafeMutableRawPointer

    /// A view of the header starting at `base`.
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Header size in bytes.
    @inlinable public static var size: Int { 8 }
    /// Byte offset of the checksum field.
    @inlinable public static var checksumOffset: Int { 6 }

    /// Source port, bytes 0–1.
    @inlinable
    public var sourcePort: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 0, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 0) }
    }

    /// Destination port, bytes 2–3.
    @inlinable
    public var destinationPort: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 2, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 2) }
    }

    /// Length in bytes of header + payload, bytes 4–5.
    @inlinable
    public var length: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 4, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 4) }
    }

    /// Checksum, bytes 6–7, host order; 0 means "none".
    @inlinable
    public var checksum: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 6, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 6) }
    }

    /// The checksum this datagram should carry, over the IPv4 pseudo-header and `length`
    /// bytes of datagram with the checksum field taken as zero; a result of 0 is returned as
    /// 0xFFFF (0 would mean "none"). O(length); requires `length >= 8`; not for the
    /// per-packet path.
    @inlinable
    public func computeChecksum(source: IPv4Address, destination: IPv4Address, length: Int) -> UInt16 {
        var sum = Checksum.pseudoHeaderSum(
            source: source, destination: destination, protocolNumber: IPv4Header.protocolUDP, length: length)
        sum = Checksum.partialSum(UnsafeRawPointer(base), count: UDPHeader.checksumOffset, initial: sum)
        sum = Checksum.partialSum(UnsafeRawPointer(base + 8), count: length - 8, initial: sum)
        let result = Checksum.finish(sum)
        return result == 0 ? 0xFFFF : result
    }

    /// Stores `computeChecksum(source:destination:length:)` into `checksum`.
    @inlinable
    public func updateChecksum(source: IPv4Address, destination: IPv4Address, length: Int) {
        checksum = computeChecksum(source: source, destination: destination, length: length)
    }
}
