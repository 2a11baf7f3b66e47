/// An immutable open-addressing hash map from a 128-bit key (two words) to an
/// `Int32`, built once when a snapshot is compiled and read by the packet path.
///
/// Linear probing in a power-of-two table at most half full; a lookup costs one
/// mix of the key and usually one cache line. Memory is allocated by `init` and
/// released by `deallocate()`, which the owning snapshot calls from its `deinit`
/// (the struct itself holds no reference, so reading it costs no ARC traffic).
@frozen
public struct StaticMap: @unchecked Sendable {
    @frozen @usableFromInline
    struct Slot {
        @usableFromInline var k0: UInt64
        @usableFromInline var k1: UInt64
        @usableFromInline var value: Int32
        @usableFromInline var used: Bool
    }

    @usableFromInline let slots: UnsafeMutablePointer<Slot>
    @usableFromInline let mask: Int
    /// Number of keys.
    public let count: Int

    /// Builds the map. A key given twice keeps the last value.
    public init(_ pairs: [(key: (UInt64, UInt64), value: Int32)]) {
        var capacity = 16
        while capacity < pairs.count * 2 { capacity <<= 1 }
        slots = .allocate(capacity: capacity)
        slots.initialize(repeating: Slot(k0: 0, k1: 0, value: -1, used: false), count: capacity)
        mask = capacity - 1
        var distinct = 0
        for pair in pairs {
            var index = Self.index(pair.key.0, pair.key.1, mask: mask)
            while slots[index].used && (slots[index].k0 != pair.key.0 || slots[index].k1 != pair.key.1) {
                index = (index + 1) & mask
            }
            if !slots[index].used { distinct += 1 }
            slots[index] = Slot(k0: pair.key.0, k1: pair.key.1, value: pair.value, used: true)
        }
        count = distinct
    }

    /// Releases the memory. The map must not be used afterwards.
    public func deallocate() { slots.deallocate() }

    @inlinable @inline(__always)
    static func index(_ k0: UInt64, _ k1: UInt64, mask: Int) -> Int {
        // MurmurHash3's 64-bit finalizer over both words: a full avalanche in a few cycles.
        var h = k0 ^ (k1 &* 0x9E37_79B9_7F4A_7C15)
        h ^= h >> 33
        h &*= 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        h &*= 0xC4CE_B9FE_1A85_EC53
        h ^= h >> 33
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The value for the key, or nil.
    @inlinable @inline(__always)
    public func find(_ k0: UInt64, _ k1: UInt64 = 0) -> Int32? {
        var index = Self.index(k0, k1, mask: mask)
        while true {
            let slot = slots[index]
            if !slot.used { return nil }
            if slot.k0 == k0 && slot.k1 == k1 { return slot.value }
            index = (index &+ 1) & mask
        }
    }
}
