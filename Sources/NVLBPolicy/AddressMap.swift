/// What one address is within one VSID (or among the public frontends, VSID 0): the
/// packet path's single index for NVGRE classification.
///
/// One probe answers the three questions the slow path asks of three maps: the
/// VSID's routing domain (`vsidIndex`), the lookup record of (VSID, CA)
/// (`recordIndex`) and the frontend at (VSID, VIP) (`vipIndex`). A reply or an
/// internal request is classified with two probes, (VSID, source) and
/// (VSID, destination), instead of three or four.
@frozen
public struct AddressInfo: Sendable, Equatable, BitwiseCopyable {
    /// Lookup record of (VSID, address), or -1.
    public var record: Int32
    /// Index in `PolicySnapshot.vips` of the frontend (VSID, address), or -1.
    public var vip: Int32
    /// Routing domain of the VSID (as `vsidIndex` says), or -1 (unknown VSID, or 0).
    public var domain: Int32

    @inlinable
    public init(record: Int32, vip: Int32, domain: Int32) {
        self.record = record
        self.vip = vip
        self.domain = domain
    }

    /// Neither a record nor a frontend (an address the policy does not know).
    @inlinable
    public static var unknown: AddressInfo { AddressInfo(record: -1, vip: -1, domain: -1) }
}

/// An immutable open-addressing map from (VSID << 32 | IPv4 address) to `AddressInfo`,
/// built once per snapshot. Linear probing at most a quarter full (half for very
/// large policies), so a miss (e.g. the destination of a reply, which is a client and
/// not a frontend) usually ends at the first slot; one multiply hashes a key. Slots
/// are 24 bytes; memory is released by `deallocate()` (called by the snapshot).
@frozen
public struct AddressMap: @unchecked Sendable {
    @frozen @usableFromInline
    struct Slot {
        /// `emptyKey` when unused (no VSID has 32 bits).
        @usableFromInline var key: UInt64
        @usableFromInline var info: AddressInfo
        @usableFromInline var padding: Int32
    }

    @usableFromInline static var emptyKey: UInt64 { UInt64.max }

    @usableFromInline let slots: UnsafeMutablePointer<Slot>
    @usableFromInline let shift: UInt64
    @usableFromInline let mask: Int
    /// Number of keys.
    public let count: Int

    /// The key of (VSID or 0, address).
    @inlinable @inline(__always)
    public static func key(vsid: UInt32, address: UInt32) -> UInt64 { UInt64(vsid) << 32 | UInt64(address) }

    /// Builds the map from distinct keys.
    public init(_ entries: [UInt64: AddressInfo]) {
        var capacity = 16
        let load = entries.count <= 1 << 18 ? 4 : 2
        while capacity < entries.count * load { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(
            repeating: Slot(key: Self.emptyKey, info: .unknown, padding: 0), count: capacity)
        mask = capacity - 1
        shift = UInt64(64 - capacity.trailingZeroBitCount)
        for (key, info) in entries {
            precondition(key != Self.emptyKey)
            var index = Self.index(key, shift: shift)
            while slots[index].key != Self.emptyKey { index = (index + 1) & mask }
            slots[index] = Slot(key: key, info: info, padding: 0)
        }
        count = entries.count
    }

    /// Releases the memory. The map must not be used afterwards.
    public func deallocate() { slots.deallocate() }

    /// Fibonacci hashing: the top bits of key × 2⁶⁴/φ.
    @inlinable @inline(__always)
    static func index(_ key: UInt64, shift: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) &>> shift)
    }

    /// What (VSID or 0, address) is; `AddressInfo.unknown` when the map has no such key.
    @inlinable @inline(__always)
    public func find(_ key: UInt64) -> AddressInfo {
        var index = Self.index(key, shift: shift)
        while true {
            let slot = slots + index
            if slot.pointee.key == key { return slot.pointee.info }
            if slot.pointee.key == Self.emptyKey { return .unknown }
            index = (index &+ 1) & mask
        }
    }
}
