/// The header of one frame read from a capture into a caller's buffer by
/// ``PcapFileReader/read(into:capacity:)``.
public struct PcapRecord: Hashable, Sendable {
    /// Bytes of the frame present in the capture and copied into the buffer (`caplen`).
    public let capturedLength: Int
    /// Bytes the frame had on the wire (`len`); larger than `capturedLength` when the capture
    /// was truncated to a snapshot length.
    public let originalLength: Int
    /// When the frame was captured.
    public let timestamp: PacketTimestamp

    /// A record of `capturedLength` bytes stored of `originalLength`, captured at `timestamp`.
    public init(capturedLength: Int, originalLength: Int, timestamp: PacketTimestamp) {
        self.capturedLength = capturedLength
        self.originalLength = originalLength
        self.timestamp = timestamp
    }

    /// True when the capture holds only a prefix of the frame (`caplen < len`); such a frame
    /// cannot be forwarded as it was.
    public var isTruncated: Bool { capturedLength < originalLength }
}
