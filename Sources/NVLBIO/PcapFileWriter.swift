import CPcap

/// Writes frames to a pcap file through libpcap (`pcap_open_dead` + `pcap_dump_open`).
///
/// ``write(_:length:originalLength:timestamp:)`` fills a `pcap_pkthdr` on the stack and
/// appends the record with `pcap_dump`, which buffers in stdio: no allocation per frame.
/// libpcap does not report failed writes as they happen; ``flush()`` and ``close()`` do.
///
/// A non-copyable struct, for the reasons given on ``PcapFileReader``; and ``close()`` is
/// `consuming`, so a closed writer cannot be written to. A writer dropped without `close()`
/// is closed by `deinit`, which has no way to report an error: call `close()`.
///
/// Not `Sendable`: one thread writes a file.
public struct PcapFileWriter: ~Copyable {
    /// The dead `pcap_t` that defines the file's link type, snapshot length and precision.
    private let handle: OpaquePointer
    /// The `pcap_dumper_t` (a stdio `FILE` underneath).
    private let dumper: OpaquePointer
    /// The file written (`-` is standard output).
    public let path: String
    /// The link type in the file header.
    public let linkType: PcapLinkType
    /// The snapshot length in the file header: the most bytes a record may hold.
    public let snapshotLength: Int
    /// The resolution of the timestamps in the file.
    public let precision: PacketTimestamp.Precision

    /// The default snapshot length, 262 144 bytes: libpcap's and tcpdump's maximum, so no
    /// frame nvlb handles is ever truncated.
    public static let defaultSnapshotLength = 262_144

    /// Creates (or truncates) the capture file at `path`, `-` meaning standard output, and
    /// writes its header.
    ///
    /// - Parameters:
    ///   - linkType: the file's link type; Ethernet for everything nvlb writes (another value
    ///     is for tests of readers).
    ///   - snapshotLength: the largest record, in bytes.
    ///   - precision: of timestamps; microseconds (the default) is readable by every tool.
    /// - Throws: ``PcapError`` with libpcap's text when the file cannot be created.
    public init(
        path: String, linkType: PcapLinkType = .ethernet, snapshotLength: Int = defaultSnapshotLength,
        precision: PacketTimestamp.Precision = .microsecond
    ) throws(PcapError) {
        let handle = try LibPcap.openDead(linkType: linkType, snapshotLength: snapshotLength, precision: precision)
        let dumper: OpaquePointer
        do {
            dumper = try LibPcap.openDump(handle, path: path)
        } catch {
            LibPcap.close(handle)
            throw error
        }
        self.handle = handle
        self.dumper = dumper
        self.path = path
        self.linkType = linkType
        self.snapshotLength = snapshotLength
        self.precision = precision
    }

    deinit {
        LibPcap.dumpClose(dumper)
        LibPcap.close(handle)
    }

    /// Appends one frame: `length` bytes at `pointer`, captured at `timestamp` (truncated to
    /// ``precision``). No allocation.
    ///
    /// - Parameters:
    ///   - originalLength: the frame's length on the wire when the record holds only a prefix
    ///     of it; `nil` (the default) means `length`.
    /// - Throws: ``PcapError``, writing nothing, when `length` is negative or exceeds
    ///   ``snapshotLength``, `originalLength` is below `length` or above 2³²−1, or
    ///   `timestamp` falls outside the 32-bit seconds field of the format (1970 – 2106).
    public mutating func write(
        _ pointer: UnsafeRawPointer, length: Int, originalLength: Int? = nil, timestamp: PacketTimestamp
    ) throws(PcapError) {
        let originalLength = originalLength ?? length
        guard length >= 0, length <= snapshotLength else {
            throw PcapError(
                operation: "write", path: path,
                message: "a record of \(length) bytes does not fit the snapshot length \(snapshotLength)")
        }
        guard originalLength >= length, let wireLength = UInt32(exactly: originalLength) else {
            throw PcapError(
                operation: "write", path: path,
                message: "original length \(originalLength) is invalid for a record of \(length) bytes")
        }
        guard UInt32(exactly: timestamp.seconds) != nil else {
            throw PcapError(
                operation: "write", path: path, message: "timestamp \(timestamp) is outside the pcap format's range")
        }
        // With a nanosecond handle libpcap stores `tv_usec` as nanoseconds.
        let fraction = precision == .nanosecond ? Int(timestamp.nanoseconds) : Int(timestamp.microseconds)
        var header = pcap_pkthdr()
        header.ts.tv_sec = .init(timestamp.seconds)
        header.ts.tv_usec = .init(fraction)
        header.caplen = UInt32(length)
        header.len = wireLength
        LibPcap.dump(dumper, header: &header, bytes: pointer)
    }

    /// Appends one frame held in an array; see ``write(_:length:originalLength:timestamp:)``.
    public mutating func write(_ bytes: [UInt8], originalLength: Int? = nil, timestamp: PacketTimestamp)
        throws(PcapError)
    {
        // `withUnsafeBytes` rethrows untyped errors: carry the typed one out in a `Result`.
        let result = bytes.withUnsafeBytes { buffer -> Result<Void, PcapError> in
            // A zero-length array may have no base address; pcap_dump then copies no bytes.
            let pointer = buffer.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
            do throws(PcapError) {
                try write(pointer, length: buffer.count, originalLength: originalLength, timestamp: timestamp)
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// Appends a frame read from another capture, keeping its original length and timestamp.
    public mutating func write(_ frame: CapturedFrame) throws(PcapError) {
        try write(frame.bytes, originalLength: frame.originalLength, timestamp: frame.timestamp)
    }

    /// Pushes buffered records to the file (`pcap_dump_flush`).
    ///
    /// - Throws: ``PcapError`` when this or any earlier write failed (e.g. the disk is full).
    public mutating func flush() throws(PcapError) {
        try LibPcap.dumpFlush(dumper, path: path)
    }

    /// Flushes and closes the file, reporting any write that failed since it was opened.
    /// The file is closed whether or not this throws.
    public consuming func close() throws(PcapError) {
        let result: Result<Void, PcapError>
        do throws(PcapError) {
            try LibPcap.dumpFlush(dumper, path: path)
            result = .success(())
        } catch {
            result = .failure(error)
        }
        // deinit closes the dumper and the handle as `self` goes out of scope here.
        try result.get()
    }
}

/// libpcap handles must not be used from two threads at once.
@available(*, unavailable)
extension PcapFileWriter: Sendable {}
