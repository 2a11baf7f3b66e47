/// A failure of a libpcap call, or of a check nvlb makes around one, carrying libpcap's own
/// error text (from its `errbuf` or `pcap_geterr`) so the message a user sees is the one
/// libpcap produced.
public struct PcapError: Error, CustomStringConvertible, Hashable, Sendable {
    /// What failed, for callers that handle one case and pass the others on.
    public enum Kind: Hashable, Sendable {
        /// A libpcap call or a check around one failed (the message says which).
        case failed
        /// A frame of the capture is longer than the caller's buffer; the frame was skipped
        /// and the next read continues with the next frame.
        case frameTooLarge
    }

    /// What failed.
    public let kind: Kind
    /// The libpcap function that failed (`pcap_open_offline`, `pcap_next_ex`, …), or the name
    /// of the check nvlb made around it (`link type`, `read`, `write`).
    public let operation: String
    /// The capture file concerned, if any (`-` is standard input or output).
    public let path: String?
    /// The error text: libpcap's when libpcap reported the failure, nvlb's otherwise.
    public let message: String

    /// Creates an error of `kind` for `operation` on `path` with `message`.
    public init(kind: Kind = .failed, operation: String, path: String?, message: String) {
        self.kind = kind
        self.operation = operation
        self.path = path
        self.message = message
    }

    /// `operation(path): message`; the path is left out when libpcap's message already names it.
    public var description: String {
        guard let path, !message.contains(path) else { return "\(operation): \(message)" }
        return "\(operation)(\(path)): \(message)"
    }
}
