/// The outcome of one probe of one DIP (docs/health.md), as logged with each transition.
public enum ProbeResult: Sendable, Equatable, CustomStringConvertible {
    /// `tcp`: the DIP answered the SYN with a SYN-ACK.
    case synAck
    /// `http`: the status code of the response's status line (2xx/3xx succeed).
    case httpStatus(Int)
    /// No complete answer within the probe's `timeout`.
    case timeout
    /// The DIP reset the connection (nothing listens on the port, or it refused).
    case reset
    /// The DIP closed the connection before sending a status line.
    case closed
    /// An answer that is not what the protocol expects: a response that is not
    /// HTTP, a SYN-ACK that acknowledges something else.
    case garbage(String)
    /// The probe could not be sent: no next hop toward the DIP's host is known (no
    /// static neighbour, no `underlay.gateway_mac`). Counts neither way.
    case unreachable

    /// True when the probe counts toward `rise`.
    public var isSuccess: Bool {
        switch self {
        case .synAck: true
        case .httpStatus(let status): (200..<400).contains(status)
        default: false
        }
    }

    /// As in log lines: `SYN-ACK`, `HTTP 200`, `timeout`, `RST`, `HTTP 503`, `garbage (…)`.
    public var description: String {
        switch self {
        case .synAck: "SYN-ACK"
        case .httpStatus(let status): "HTTP \(status)"
        case .timeout: "timeout"
        case .reset: "RST"
        case .closed: "FIN before a status line"
        case .garbage(let what): "garbage (\(what))"
        case .unreachable: "no next hop to the DIP's host"
        }
    }
}
