/// A failure to open or use a live interface (capture, packet socket, namespace), naming the
/// interface and the call, with the kernel's or libpcap's text — what `nvlb run` prints when
/// it refuses to start.
public struct LiveIOError: Error, CustomStringConvertible, Hashable, Sendable {
    /// What went wrong, for callers that react differently (exit codes, hints).
    public enum Kind: String, Hashable, Sendable {
        /// The interface does not exist (`pcap_activate`: `PCAP_ERROR_NO_SUCH_DEVICE`, or no index).
        case noSuchDevice = "no such device"
        /// Not allowed to capture or send (not root / no `CAP_NET_RAW`).
        case permissionDenied = "permission denied"
        /// The interface exists but is not up (`PCAP_ERROR_IFACE_NOT_UP`).
        case interfaceDown = "interface not up"
        /// Anything else.
        case other = "error"
    }

    /// The class of failure.
    public let kind: Kind
    /// The interface (or namespace) concerned.
    public let interface: String
    /// The call that failed (`pcap_activate`, `sendmmsg`, `setsockopt(PACKET_FANOUT)` …).
    public let operation: String
    /// libpcap's or `strerror`'s text.
    public let message: String

    /// An error of `kind` on `interface` from `operation`, with `message`.
    public init(kind: Kind, interface: String, operation: String, message: String) {
        self.kind = kind
        self.interface = interface
        self.operation = operation
        self.message = message
    }

    /// `interface "eth9": no such device (pcap_activate: eth9: No such device exists)`.
    public var description: String {
        let detail = message.isEmpty ? operation : "\(operation): \(message)"
        return "interface \"\(interface)\": \(kind.rawValue) (\(detail))"
    }
}
