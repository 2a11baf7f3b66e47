/// A 48-bit Ethernet MAC address. `rawValue` holds the six octets in its low
/// 48 bits, first octet most significant (`02:4c:42:00:06:02` is `0x024C_4200_0602`).
@frozen
public struct MACAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// The broadcast address `ff:ff:ff:ff:ff:ff`.
    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    /// The all-zero address, used as "unknown" in ARP requests.
    public static let zero = MACAddress(rawValue: 0)

    /// Parses `aa:bb:cc:dd:ee:ff` (also with `-` separators); two hex digits per octet.
    public init?(_ text: some StringProtocol) {
        let separator: Character = text.contains("-") ? "-" : ":"
        let parts = text.split(separator: separator, omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, part.allSatisfy(\.isHexDigit), let octet = UInt8(part, radix: 16) else {
                return nil
            }
            value = value << 8 | UInt64(octet)
        }
        rawValue = value
    }

    /// True for group (multicast and broadcast) addresses: the low bit of the first octet.
    @inlinable
    public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }

    public var description: String {
        (0..<6).map { index in
            let octet = UInt8(truncatingIfNeeded: rawValue >> UInt64(40 - 8 * index))
            let hex = String(octet, radix: 16)
            return octet < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    @inlinable
    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }
}
