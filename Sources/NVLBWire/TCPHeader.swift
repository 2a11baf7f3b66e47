/// TCP control flags (byte 13 of the TCP header).
@frozen
public struct TCPFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    /// The flag bits as they appear on the wire.
    public var rawValue: UInt8

    /// Flags from their wire byte.
    @inlinable @inline(__always)
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// FIN: no more data from the sender.
    @inlinable public static var fin: TCPFlags { TCPFlags(rawValue: 0x01) }
    /// SYN: synchronize sequence numbers.
    @inlinable public static var syn: TCPFlags { TCPFlags(rawValue: 0x02) }
    /// RST: reset the connection.
    @inlinable public static var rst: TCPFlags { TCPFlags(rawValue: 0x04) }
    /// PSH: push function.
    @inlinable public static var psh: TCPFlags { TCPFlags(rawValue: 0x08) }
    /// ACK: the acknowledgment field is significant.
    @inlinable public static var ack: TCPFlags { TCPFlags(rawValue: 0x10) }
    /// URG: the urgent pointer is significant.
    @inlinable public static var urg: TCPFlags { TCPFlags(rawValue: 0x20) }
    /// ECE: ECN echo (RFC 3168).
    @inlinable public static var ece: TCPFlags { TCPFlags(rawValue: 0x40) }
    /// CWR: congestion window reduced (RFC 3168).
    @inlinable public static var cwr: TCPFlags { TCPFlags(rawValue: 0x80) }

    /// The set flags by name, e.g. `[SYN,ACK]`.
    public var description: String {
        let names = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"]
        let set = (0..<8).filter { rawValue & (1 << $0) != 0 }.map { names[$0] }
        return "[" + set.joined(separator: ",") + "]"
    }
}

/// A zero-copy view of a TCP header (RFC 9293) at `base`. No bounds checks: the caller
/// guarantees `TCPHeader.minimumSize` bytes (and `headerLength` for options).
@frozen
public struct TCPHeader {
    /// The first byte of the header (the source port).
    public let base: UnsafeMutableRawPointer

    /// A view of the header starting at `base`.
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// The flags type, `TCPFlags`.
    public typealias Flags = TCPFlags

    /// Size in bytes of a header without options (data offset 5).
    @inlinable public static var minimumSize: Int { 20 }
    /// Byte offset of the checksum field.
    @inlinable public static var checksumOffset: Int { 16 }

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

    /// Sequence number, bytes 4–7.
    @inlinable
    public var sequenceNumber: UInt32 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 4, as: UInt32.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 4) }
    }

    /// Acknowledgment number, bytes 8–11.
    @inlinable
    public var acknowledgmentNumber: UInt32 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 8, as: UInt32.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 8) }
    }

    /// Data offset in 32-bit words (high nibble of byte 12); 5 without options.
    /// Setting keeps the low nibble (reserved bits and NS).
    @inlinable
    public var dataOffset: UInt8 {
        @inline(__always) get { base.load(fromByteOffset: 12, as: UInt8.self) >> 4 }
        @inline(__always) nonmutating set {
            let low = base.load(fromByteOffset: 12, as: UInt8.self) & 0x0F
            base.storeBytes(of: newValue << 4 | low, toByteOffset: 12, as: UInt8.self)
        }
    }

    /// Header length in bytes (`dataOffset * 4`), options included.
    @inlinable
    public var headerLength: Int {
        @inline(__always) get { Int(dataOffset) &<< 2 }
    }

    /// Control flags, byte 13.
    @inlinable
    public var flags: TCPFlags {
        @inline(__always) get { TCPFlags(rawValue: base.load(fromByteOffset: 13, as: UInt8.self)) }
        @inline(__always) nonmutating set { base.storeBytes(of: newValue.rawValue, toByteOffset: 13, as: UInt8.self) }
    }

    /// Receive window, bytes 14–15.
    @inlinable
    public var window: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 14, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 14) }
    }

    /// Checksum, bytes 16–17, host order.
    @inlinable
    public var checksum: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 16, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 16) }
    }

    /// Urgent pointer, bytes 18–19.
    @inlinable
    public var urgentPointer: UInt16 {
        @inline(__always) get { base.loadBigEndian(fromByteOffset: 18, as: UInt16.self) }
        @inline(__always) nonmutating set { base.storeBigEndian(newValue, toByteOffset: 18) }
    }

    /// The checksum this segment should carry, computed in full over the IPv4 pseudo-header
    /// and `length` bytes of segment (header + payload) with the checksum field taken as zero.
    /// O(length); requires `length >= 20`. Not for the per-packet path: rewrites there use
    /// `Checksum.updated`.
    @inlinable
    public func computeChecksum(source: IPv4Address, destination: IPv4Address, length: Int) -> UInt16 {
        var sum = Checksum.pseudoHeaderSum(
            source: source, destination: destination, protocolNumber: IPv4Header.protocolTCP, length: length)
        sum = Checksum.partialSum(UnsafeRawPointer(base), count: TCPHeader.checksumOffset, initial: sum)
        sum = Checksum.partialSum(
            UnsafeRawPointer(base + 18), count: length - 18, initial: sum)
        return Checksum.finish(sum)
    }

    /// Stores `computeChecksum(source:destination:length:)` into `checksum`.
    @inlinable
    public func updateChecksum(source: IPv4Address, destination: IPv4Address, length: Int) {
        checksum = computeChecksum(source: source, destination: destination, length: length)
    }
}
