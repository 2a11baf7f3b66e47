/// A view of an ICMP header (RFC 792) in a packet buffer: type, code, checksum and the
/// 4-byte rest of header (echo identifier and sequence, or the next-hop MTU of
/// "fragmentation needed", RFC 1191). Reads and writes in place, no allocation.
@frozen
public struct ICMPHeader {
    /// The first byte of the ICMP header.
    public let base: UnsafeMutableRawPointer

    /// A view of the header at `base`.
    @inlinable @inline(__always)
    public init(_ base: UnsafeMutableRawPointer) { self.base = base }

    /// Bytes of the header (type, code, checksum, rest of header).
    @inlinable public static var size: Int { 8 }
    /// Offset of the checksum.
    @inlinable public static var checksumOffset: Int { 2 }

    /// Echo reply.
    @inlinable public static var typeEchoReply: UInt8 { 0 }
    /// Destination unreachable (code 4: fragmentation needed and DF set).
    @inlinable public static var typeDestinationUnreachable: UInt8 { 3 }
    /// Echo request.
    @inlinable public static var typeEchoRequest: UInt8 { 8 }
    /// Time exceeded.
    @inlinable public static var typeTimeExceeded: UInt8 { 11 }
    /// Parameter problem.
    @inlinable public static var typeParameterProblem: UInt8 { 12 }
    /// Code of destination unreachable: fragmentation needed and DF set.
    @inlinable public static var codeFragmentationNeeded: UInt8 { 4 }

    /// True for the error types that quote the packet they are about (3, 11, 12).
    @inlinable @inline(__always)
    public static func isError(type: UInt8) -> Bool { type == 3 || type == 11 || type == 12 }

    /// Message type.
    @inlinable
    public var type: UInt8 {
        get { base.load(as: UInt8.self) }
        nonmutating set { base.storeBytes(of: newValue, as: UInt8.self) }
    }

    /// Message code.
    @inlinable
    public var code: UInt8 {
        get { base.load(fromByteOffset: 1, as: UInt8.self) }
        nonmutating set { base.storeBytes(of: newValue, toByteOffset: 1, as: UInt8.self) }
    }

    /// Checksum over the whole ICMP message.
    @inlinable
    public var checksum: UInt16 {
        get { base.loadBigEndian(fromByteOffset: 2, as: UInt16.self) }
        nonmutating set { base.storeBigEndian(newValue, toByteOffset: 2) }
    }

    /// Bytes 4–7: identifier and sequence of an echo; unused + next-hop MTU of code 4.
    @inlinable
    public var restOfHeader: UInt32 {
        get { base.loadBigEndian(fromByteOffset: 4, as: UInt32.self) }
        nonmutating set { base.storeBigEndian(newValue, toByteOffset: 4) }
    }

    /// Writes the checksum of the `length`-byte message starting at `base`. O(length).
    @inlinable
    public func updateChecksum(length: Int) {
        checksum = 0
        checksum = Checksum.internet(UnsafeRawPointer(base), count: length)
    }
}
