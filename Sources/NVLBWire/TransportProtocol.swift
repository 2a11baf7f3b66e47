/// The transport protocols nvlb balances, with their IPv4 protocol numbers.
public enum TransportProtocol: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case tcp = 6
    case udp = 17

    /// `tcp` or `udp`, as in the configuration file.
    public var description: String { self == .tcp ? "tcp" : "udp" }

    /// Parses `tcp` / `udp`.
    public init?(name: String) {
        switch name {
        case "tcp": self = .tcp
        case "udp": self = .udp
        default: return nil
        }
    }
}
