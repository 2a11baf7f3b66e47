// Incremental checksum update, RFC 1624 equation 3: HC' = ~(~HC + ~m + m').
// Eqn. 3 (unlike eqn. 2 of RFC 1141) never turns a correct checksum into the
// one's-complement "-0" ambiguity, so the result equals a full recomputation.

extension Checksum {
    /// The checksum after one 16-bit word covered by it changes from `old` to `new`
    /// (RFC 1624 eqn. 3). O(1). For TCP and the IPv4 header; UDP uses `updatedUDP`.
    @inlinable @inline(__always)
    public static func updated(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        finish(UInt32(~checksum) &+ UInt32(~old) &+ UInt32(new))
    }

    /// The checksum after a 32-bit value covered by it (two adjacent words aligned on a
    /// 16-bit boundary, e.g. an IPv4 address or a port pair) changes from `old` to `new`
    /// (RFC 1624 eqn. 3, both words at once). O(1).
    @inlinable @inline(__always)
    public static func updated(_ checksum: UInt16, replacing32 old: UInt32, with32 new: UInt32) -> UInt16 {
        // At most 5 × 0xFFFF: the sum fits 32 bits.
        let notOld = ~old
        return finish(
            UInt32(~checksum) &+ (notOld &>> 16) &+ (notOld & 0xFFFF) &+ (new &>> 16) &+ (new & 0xFFFF))
    }

    /// The checksum after an IPv4 address covered by it changes (e.g. the IPv4 header
    /// checksum, or a TCP/UDP checksum through the pseudo-header). O(1).
    @inlinable @inline(__always)
    public static func updated(_ checksum: UInt16, replacing old: IPv4Address, with new: IPv4Address) -> UInt16 {
        updated(checksum, replacing32: old.rawValue, with32: new.rawValue)
    }

    /// `updated(_:replacing:with:)` for a UDP checksum over IPv4: a checksum of 0 ("none")
    /// stays 0, and a result of 0 is returned as 0xFFFF (RFC 768). O(1).
    @inlinable @inline(__always)
    public static func updatedUDP(_ checksum: UInt16, replacing old: UInt16, with new: UInt16) -> UInt16 {
        if checksum == 0 { return 0 }
        let result = updated(checksum, replacing: old, with: new)
        return result == 0 ? 0xFFFF : result
    }

    /// `updated(_:replacing32:with32:)` for a UDP checksum over IPv4: a checksum of 0
    /// ("none") stays 0, and a result of 0 is returned as 0xFFFF (RFC 768). O(1).
    @inlinable @inline(__always)
    public static func updatedUDP(_ checksum: UInt16, replacing32 old: UInt32, with32 new: UInt32) -> UInt16 {
        if checksum == 0 { return 0 }
        let result = updated(checksum, replacing32: old, with32: new)
        return result == 0 ? 0xFFFF : result
    }

    /// `updatedUDP(_:replacing32:with32:)` for an IPv4 address in the pseudo-header. O(1).
    @inlinable @inline(__always)
    public static func updatedUDP(_ checksum: UInt16, replacing old: IPv4Address, with new: IPv4Address) -> UInt16 {
        updatedUDP(checksum, replacing32: old.rawValue, with32: new.rawValue)
    }
}
