/// One frame of a capture with its bytes in an array: the allocating form, for tests and
/// tools. The packet path reads with ``PcapFileReader/read(into:capacity:)`` instead.
public struct CapturedFrame: Hashable, Sendable {
    /// The bytes present in the capture, starting with the link-layer header.
    public var bytes: [UInt8]
    /// Bytes the frame had on the wire; at least `bytes.count`.
    public var originalLength: Int
    /// When the frame was captured.
    public var timestamp: PacketTimestamp

    /// A frame of `bytes`, captured whole unless `originalLength` says it was longer.
    public init(bytes: [UInt8], originalLength: Int? = nil, timestamp: PacketTimestamp) {
        self.bytes = bytes
        self.originalLength = originalLength ?? bytes.count
        self.timestamp = timestamp
    }

    /// True when the capture holds only a prefix of the frame.
    public var isTruncated: Bool { bytes.count < originalLength }
}
