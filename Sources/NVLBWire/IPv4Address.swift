/// An IPv4 address. `rawValue` is the address as a host-order integer
/// (`10.1.6.21` is `0x0A01_0615`), which is also its numeric order.
@frozen
public struct IPv4Address: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The address from four octets, most significant first.
    @inlinable
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-quad notation (`192.168.6.2`); `nil` for anything else
    /// (no leading zeros beyond a single `0`, no spaces, exactly four octets).
    public init?(_ text: some StringProtocol) {
        var value: UInt32 = 0
        var octets = 0
        for part in text.split(separator: ".", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0",
                let octet = UInt8(part)
            else { return nil }
            value = value << 8 | UInt32(octet)
            octets += 1
        }
        guard octets == 4 else { return nil }
        rawValue = value
    }

    public var description: String {
        "\(rawValue >> 24).\(rawValue >> 16 & 0xff).\(rawValue >> 8 & 0xff).\(rawValue & 0xff)"
    }

    @inlinable
    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.rawValue < rhs.rawValue }
}
