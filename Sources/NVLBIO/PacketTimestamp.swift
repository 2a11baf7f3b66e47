/// The capture time of a frame: whole seconds since the Unix epoch (UTC) plus a fraction in
/// nanoseconds. pcap files store either microseconds or nanoseconds; readers return
/// nanoseconds always (libpcap scales microsecond files), writers truncate to the file's
/// ``Precision``.
public struct PacketTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Seconds since 1970-01-01T00:00:00Z.
    public let seconds: Int64
    /// The fraction of the second, in nanoseconds; always in `0 ..< 1_000_000_000`.
    public let nanoseconds: UInt32

    /// The resolution of the timestamps stored in a pcap file.
    public enum Precision: Hashable, Sendable {
        /// Microseconds: the classic pcap format (magic `a1b2c3d4`), readable by every tool.
        case microsecond
        /// Nanoseconds: the pcap variant with magic `a1b23c4d`.
        case nanosecond
    }

    /// The epoch itself, 0 s + 0 ns.
    public static let zero = PacketTimestamp(seconds: 0, nanoseconds: 0)

    /// A timestamp of `seconds` plus `nanoseconds`; `nanoseconds` must be below one billion.
    public init(seconds: Int64, nanoseconds: UInt32) {
        precondition(nanoseconds < 1_000_000_000, "PacketTimestamp: nanoseconds \(nanoseconds) ≥ 10⁹")
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// A timestamp of `seconds` plus `microseconds`; `microseconds` must be below one million.
    public init(seconds: Int64, microseconds: UInt32) {
        precondition(microseconds < 1_000_000, "PacketTimestamp: microseconds \(microseconds) ≥ 10⁶")
        self.init(seconds: seconds, nanoseconds: microseconds * 1000)
    }

    /// A timestamp from a fraction that may be out of range (a malformed capture file):
    /// whole seconds in the fraction are carried into `seconds` rather than trapping.
    init(seconds: Int64, normalizingNanoseconds fraction: Int64) {
        let (carry, remainder) = fraction.quotientAndRemainder(dividingBy: 1_000_000_000)
        let borrow: Int64 = remainder < 0 ? 1 : 0
        self.seconds = seconds &+ carry &- borrow
        self.nanoseconds = UInt32(remainder + borrow * 1_000_000_000)
    }

    /// The fraction of the second in whole microseconds (truncated).
    public var microseconds: UInt32 { nanoseconds / 1000 }

    /// This timestamp moved by `delta` nanoseconds (negative moves it back).
    public func advanced(byNanoseconds delta: Int64) -> PacketTimestamp {
        PacketTimestamp(seconds: seconds, normalizingNanoseconds: Int64(nanoseconds) + delta)
    }

    /// This timestamp with its fraction truncated to `precision`, as a file of that precision
    /// stores it.
    public func truncated(to precision: Precision) -> PacketTimestamp {
        switch precision {
        case .nanosecond: self
        case .microsecond: PacketTimestamp(seconds: seconds, nanoseconds: nanoseconds / 1000 * 1000)
        }
    }

    /// Chronological order.
    public static func < (lhs: PacketTimestamp, rhs: PacketTimestamp) -> Bool {
        (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
    }

    /// `seconds.nanoseconds` with nine fraction digits, e.g. `1700000000.000250000`.
    public var description: String {
        let fraction = String(nanoseconds)
        return "\(seconds)." + String(repeating: "0", count: 9 - fraction.count) + fraction
    }
}
