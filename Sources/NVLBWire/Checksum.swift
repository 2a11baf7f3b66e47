/// The Internet checksum (RFC 1071): the one's-complement of the one's-complement sum of
/// big-endian 16-bit words, an odd trailing byte padded with a zero byte.
///
/// Values are host-order numbers of the big-endian field (the header
/// `45 00 00 73 00 00 40 00 40 11 b8 61 c0 a8 00 01 c0 a8 00 c7` carries 0xB861).
/// Sums are built with `partialSum` / `pseudoHeaderSum` and closed with `finish`, so a
/// field can be skipped by summing the bytes around it.
public enum Checksum {
    /// Adds the one's-complement sum of `count` bytes at `pointer` to `initial` and returns the
    /// (unfolded) sum in network-order terms, ready for more `partialSum` calls or `finish`.
    ///
    /// The bytes are taken as big-endian 16-bit words starting at `pointer`; an odd final byte
    /// is padded with zero, so only the last chunk of a multi-part sum may have an odd length.
    /// O(count), 8 bytes per step, no alignment requirement, no allocation. `initial` must be a
    /// value returned by this module's sum functions (at most 2^48 keeps it exact).
    @inlinable
    public static func partialSum(_ pointer: UnsafeRawPointer, count: Int, initial: UInt64 = 0) -> UInt64 {
        // Sum in host byte order: one's-complement addition commutes with byte swapping
        // (RFC 1071 §2(B)), so the folded result is swapped once at the end. Each 64-bit load is
        // split into two 32-bit halves added into a 64-bit accumulator, which cannot overflow
        // for any buffer smaller than 2^34 bytes: no carry handling in the loop.
        var accumulator: UInt64 = 0
        var offset = 0
        let wide = count & ~7
        while offset < wide {
            let word = pointer.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            accumulator &+= (word & 0xFFFF_FFFF) &+ (word &>> 32)
            offset &+= 8
        }
        if count & 4 != 0 {
            accumulator &+= UInt64(pointer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset &+= 4
        }
        if count & 2 != 0 {
            accumulator &+= UInt64(pointer.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
            offset &+= 2
        }
        if count & 1 != 0 {
            // The odd byte is the high byte of a big-endian word; as a host-order word that is
            // `UInt16(bigEndian: byte << 8)`.
            let byte = UInt16(pointer.load(fromByteOffset: offset, as: UInt8.self))
            accumulator &+= UInt64(UInt16(bigEndian: byte &<< 8))
        }
        let hostOrder = fold(accumulator)
        return initial &+ UInt64(UInt16(bigEndian: hostOrder))
    }

    /// Folds a sum to 16 bits with end-around carry. A non-zero sum never folds to 0.
    @inlinable @inline(__always)
    public static func fold(_ sum: UInt64) -> UInt16 {
        var value = (sum & 0xFFFF_FFFF) &+ (sum &>> 32)  // ≤ 33 bits
        value = (value & 0xFFFF) &+ (value &>> 16)  // ≤ 18 bits
        value = (value & 0xFFFF) &+ (value &>> 16)  // ≤ 17 bits
        value = (value & 0xFFFF) &+ (value &>> 16)  // 16 bits
        return UInt16(truncatingIfNeeded: value)
    }

    /// The checksum of a finished sum: the one's-complement of `fold(sum)`.
    @inlinable @inline(__always)
    public static func finish(_ sum: UInt64) -> UInt16 {
        ~fold(sum)
    }

    /// ``fold(_:)-(UInt64)`` for a sum that fits 32 bits (a few 16-bit words, as the
    /// incremental updates and the NVGRE header build): two end-around carries suffice.
    @inlinable @inline(__always)
    public static func fold(_ sum: UInt32) -> UInt16 {
        var value = (sum & 0xFFFF) &+ (sum &>> 16)  // ≤ 0x1FFFE
        value = (value & 0xFFFF) &+ (value &>> 16)  // 16 bits
        return UInt16(truncatingIfNeeded: value)
    }

    /// The checksum of a finished 32-bit sum: the one's-complement of `fold(sum)`.
    @inlinable @inline(__always)
    public static func finish(_ sum: UInt32) -> UInt16 {
        ~fold(sum)
    }

    /// The Internet checksum of `count` bytes at `pointer` (RFC 1071). O(count), no allocation.
    /// To verify a header or segment that includes its checksum field, check for 0.
    @inlinable
    public static func internet(_ pointer: UnsafeRawPointer, count: Int) -> UInt16 {
        finish(partialSum(pointer, count: count))
    }

    /// The Internet checksum of `bytes` (convenience for tests and tools).
    public static func internet(_ bytes: [UInt8]) -> UInt16 {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return 0xFFFF }
            return internet(base, count: buffer.count)
        }
    }

    /// The sum of the IPv4 pseudo-header of TCP/UDP (RFC 9293 §3.1, RFC 768): source and
    /// destination addresses, zero, protocol, and `length` (transport header + payload, bytes).
    /// Add the transport bytes with `partialSum(_:count:initial:)` and close with `finish`.
    @inlinable @inline(__always)
    public static func pseudoHeaderSum(
        source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8, length: Int
    ) -> UInt64 {
        let s = UInt64(source.rawValue)
        let d = UInt64(destination.rawValue)
        return (s &>> 16) &+ (s & 0xFFFF) &+ (d &>> 16) &+ (d & 0xFFFF) &+ UInt64(protocolNumber)
            &+ UInt64(UInt32(truncatingIfNeeded: length) & 0xFFFF) &+ UInt64(UInt32(truncatingIfNeeded: length) >> 16)
    }

    /// The TCP or UDP checksum, over IPv4, of a whole segment of `count` bytes at `pointer` whose
    /// checksum field is zero (or, to verify, carries its checksum: then the result is 0).
    /// Returns the plain RFC 1071 value; for UDP map a result of 0 to 0xFFFF before sending.
    @inlinable
    public static func transport(
        _ pointer: UnsafeRawPointer, count: Int,
        source: IPv4Address, destination: IPv4Address, protocolNumber: UInt8
    ) -> UInt16 {
        let pseudo = pseudoHeaderSum(
            source: source, destination: destination, protocolNumber: protocolNumber, length: count)
        return finish(partialSum(pointer, count: count, initial: pseudo))
    }
}
