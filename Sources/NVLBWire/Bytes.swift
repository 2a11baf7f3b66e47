// Big-endian loads and stores at arbitrary (unaligned) byte offsets: the two primitives
// every header view is built from. Network byte order is big-endian; every view converts
// explicitly, so the views are correct on either host byte order.

extension UnsafeRawPointer {
    /// Loads a big-endian integer of type `T` at `offset` bytes from `self`, with no
    /// alignment requirement, and returns it in host byte order. O(1), no allocation.
    @inlinable @inline(__always)
    public func loadBigEndian<T: FixedWidthInteger>(fromByteOffset offset: Int = 0, as type: T.Type) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension UnsafeMutableRawPointer {
    /// Loads a big-endian integer of type `T` at `offset` bytes from `self`, with no
    /// alignment requirement, and returns it in host byte order. O(1), no allocation.
    @inlinable @inline(__always)
    public func loadBigEndian<T: FixedWidthInteger>(fromByteOffset offset: Int = 0, as type: T.Type) -> T {
        T(bigEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Stores `value` (host byte order) big-endian at `offset` bytes from `self`, with no
    /// alignment requirement. O(1), no allocation.
    @inlinable @inline(__always)
    public func storeBigEndian<T: FixedWidthInteger>(_ value: T, toByteOffset offset: Int = 0) {
        storeBytes(of: value.bigEndian, toByteOffset: offset, as: T.self)
    }

    /// Loads the 6-byte MAC address at `offset` (one 32-bit and one 16-bit load).
    @inlinable @inline(__always)
    public func loadMACAddress(fromByteOffset offset: Int) -> MACAddress {
        let high = UInt64(loadBigEndian(fromByteOffset: offset, as: UInt32.self))
        let low = UInt64(loadBigEndian(fromByteOffset: offset + 4, as: UInt16.self))
        return MACAddress(rawValue: high << 16 | low)
    }

    /// Stores `address` as 6 bytes at `offset` (one 32-bit and one 16-bit store).
    @inlinable @inline(__always)
    public func storeMACAddress(_ address: MACAddress, toByteOffset offset: Int) {
        storeBigEndian(UInt32(truncatingIfNeeded: address.rawValue >> 16), toByteOffset: offset)
        storeBigEndian(UInt16(truncatingIfNeeded: address.rawValue), toByteOffset: offset + 4)
    }

    /// Loads the 4-byte IPv4 address at `offset`.
    @inlinable @inline(__always)
    public func loadIPv4Address(fromByteOffset offset: Int) -> IPv4Address {
        IPv4Address(rawValue: loadBigEndian(fromByteOffset: offset, as: UInt32.self))
    }

    /// Stores `address` as 4 bytes, network order, at `offset`.
    @inlinable @inline(__always)
    public func storeIPv4Address(_ address: IPv4Address, toByteOffset offset: Int) {
        storeBigEndian(address.rawValue, toByteOffset: offset)
    }
}
