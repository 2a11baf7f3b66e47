import CPcap

/// Reads the frames of a capture file (pcap or pcapng, through libpcap) in order.
///
/// The packet path uses ``read(into:capacity:)``, which copies each frame into a buffer the
/// caller owns (at the offset it chooses, e.g. after headroom) and allocates nothing;
/// ``next()`` and ``readAll()`` return arrays for tests and tools.
///
/// A non-copyable struct rather than a class: the reader is the sole owner of its `pcap_t`,
/// which `deinit` closes exactly once; a copy would be a second owner and a double
/// `pcap_close`, which the compiler now rules out. It also costs no reference counting. The
/// price is no `Sequence` conformance (which needs `Copyable`, and cannot throw anyway):
/// iterate with `while let frame = try reader.next()`.
///
/// Not `Sendable`: libpcap handles are not thread-safe; one thread uses a reader (it may be
/// created on one thread and consumed on another by moving it).
public struct PcapFileReader: ~Copyable {
    /// The `pcap_t` from `pcap_open_offline`, closed by `deinit`.
    private let handle: OpaquePointer
    /// The file read (`-` is standard input).
    public let path: String
    /// The capture's link type; always the one asked for at `init`.
    public let linkType: PcapLinkType
    /// The capture's snapshot length in bytes: a buffer of this capacity holds any
    /// frame of a well-formed capture.
    public let snapshotLength: Int

    /// Opens the capture at `path` (`-` for standard input) and checks that its link type is
    /// `expectedLinkType` (Ethernet unless said otherwise).
    ///
    /// - Throws: ``PcapError`` with libpcap's text when the file is missing, unreadable or not
    ///   a capture (`unknown file format`), or naming the link type when it is another one.
    public init(path: String, expectedLinkType: PcapLinkType = .ethernet) throws(PcapError) {
        // Nanosecond delivery loses nothing: libpcap scales microsecond files up.
        let handle = try LibPcap.openOffline(path: path, precision: .nanosecond)
        let linkType = LibPcap.linkType(handle)
        guard linkType == expectedLinkType else {
            LibPcap.close(handle)
            throw PcapError(
                operation: "link type", path: path,
                message: "the capture's link type is \(linkType), not \(expectedLinkType)")
        }
        self.handle = handle
        self.path = path
        self.linkType = linkType
        self.snapshotLength = LibPcap.snapshotLength(handle)
    }

    deinit { LibPcap.close(handle) }

    /// Copies the next frame into `buffer` and returns its lengths and timestamp, or nil at
    /// the end of the capture. No allocation; one `pcap_next_ex` and one copy per frame.
    ///
    /// - Parameters:
    ///   - buffer: where the frame's first byte goes.
    ///   - capacity: bytes writable at `buffer`; ``snapshotLength`` is always enough for a
    ///     well-formed capture.
    /// - Throws: ``PcapError`` on a read error or a truncated file (libpcap's text), or when
    ///   the frame's captured length exceeds `capacity` (the frame is then skipped).
    public mutating func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws(PcapError) -> PcapRecord? {
        guard let (header, bytes) = try LibPcap.next(handle, path: path) else { return nil }
        let record = Self.record(header)
        guard record.capturedLength <= capacity else {
            throw PcapError(
                kind: .frameTooLarge, operation: "read", path: path,
                message: "a frame of \(record.capturedLength) bytes does not fit a buffer of \(capacity)")
        }
        buffer.copyMemory(from: bytes, byteCount: record.capturedLength)
        return record
    }

    /// The next frame as a new array, or nil at the end of the capture.
    ///
    /// - Throws: ``PcapError`` on a read error or a truncated file.
    public mutating func next() throws(PcapError) -> CapturedFrame? {
        guard let (header, bytes) = try LibPcap.next(handle, path: path) else { return nil }
        let record = Self.record(header)
        return CapturedFrame(
            bytes: Array(UnsafeBufferPointer(start: bytes, count: record.capturedLength)),
            originalLength: record.originalLength, timestamp: record.timestamp)
    }

    /// All the remaining frames, in capture order. O(n) time and memory in the capture size.
    ///
    /// - Throws: ``PcapError`` on a read error or a truncated file.
    public mutating func readAll() throws(PcapError) -> [CapturedFrame] {
        var frames: [CapturedFrame] = []
        while let frame = try next() { frames.append(frame) }
        return frames
    }

    /// The Swift form of a `pcap_pkthdr` whose `tv_usec` holds nanoseconds (the precision the
    /// handle was opened with).
    private static func record(_ header: pcap_pkthdr) -> PcapRecord {
        // The pcap format's seconds field is unsigned 32-bit (Wireshark reads it so), but
        // libpcap 1.10 sign-extends it: undo that for times after 2038-01-19. No capture
        // holds a negative time (pcapng's is unsigned 64-bit), so this changes nothing else.
        let seconds = Int64(header.ts.tv_sec)
        return PcapRecord(
            capturedLength: Int(header.caplen), originalLength: Int(header.len),
            timestamp: PacketTimestamp(
                seconds: seconds < 0 ? seconds + (1 << 32) : seconds,
                normalizingNanoseconds: Int64(header.ts.tv_usec)))
    }
}

/// libpcap handles must not be used from two threads at once.
@available(*, unavailable)
extension PcapFileReader: Sendable {}
