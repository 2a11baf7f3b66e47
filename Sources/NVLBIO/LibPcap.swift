import CPcap

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Every libpcap (and the few stdio) calls NVLBIO makes, each in one thin wrapper that turns
/// C results into Swift values and C failures into ``PcapError`` with libpcap's text — the
/// layout of swift-system's `Internals/Syscalls.swift`. Nothing else in the module calls C.
///
/// `pcap_t` and `pcap_dumper_t` are incomplete C types, imported as `OpaquePointer`.
package enum LibPcap {
    /// `PCAP_ERRBUF_SIZE`: libpcap writes at most this many bytes, NUL included, to `errbuf`.
    private static let errorBufferSize = Int(PCAP_ERRBUF_SIZE)

    /// Runs `body` with a zeroed `errbuf`; returns its result and the buffer's text.
    private static func withErrorBuffer<R>(
        _ body: (UnsafeMutablePointer<CChar>) -> R
    ) -> (result: R, message: String) {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: errorBufferSize) { buffer in
            buffer.initialize(repeating: 0)
            let result = body(buffer.baseAddress!)
            return (result, String(cString: buffer.baseAddress!))
        }
    }

    // MARK: Handles

    /// `pcap_open_offline_with_tstamp_precision`: opens a capture file (pcap or pcapng; `-`
    /// is standard input) with timestamps delivered at `precision`.
    static func openOffline(path: String, precision: PacketTimestamp.Precision) throws(PcapError) -> OpaquePointer {
        let (handle, message) = withErrorBuffer { errbuf in
            pcap_open_offline_with_tstamp_precision(path, precision.libpcapValue, errbuf)
        }
        guard let handle else {
            throw PcapError(operation: "pcap_open_offline", path: path, message: message)
        }
        return handle
    }

    /// `pcap_open_dead_with_tstamp_precision`: a handle with no device, used to write files.
    static func openDead(
        linkType: PcapLinkType, snapshotLength: Int, precision: PacketTimestamp.Precision
    ) throws(PcapError) -> OpaquePointer {
        guard let snaplen = Int32(exactly: snapshotLength), snaplen > 0 else {
            throw PcapError(
                operation: "pcap_open_dead", path: nil, message: "invalid snapshot length \(snapshotLength)")
        }
        guard let handle = pcap_open_dead_with_tstamp_precision(linkType.rawValue, snaplen, precision.libpcapValue)
        else {
            // libpcap fails here only when malloc does, and has no handle to report through.
            throw PcapError(operation: "pcap_open_dead", path: nil, message: "out of memory")
        }
        return handle
    }

    /// `pcap_close`.
    package static func close(_ handle: OpaquePointer) { pcap_close(handle) }

    /// `pcap_geterr`: the text of the last error on `handle`.
    package static func lastError(_ handle: OpaquePointer) -> String { String(cString: pcap_geterr(handle)) }

    /// `pcap_datalink`.
    static func linkType(_ handle: OpaquePointer) -> PcapLinkType { PcapLinkType(rawValue: pcap_datalink(handle)) }

    /// `pcap_snapshot`: the snapshot length of the capture, in bytes.
    static func snapshotLength(_ handle: OpaquePointer) -> Int { Int(pcap_snapshot(handle)) }

    /// `pcap_datalink_val_to_name`.
    static func linkTypeName(_ value: Int32) -> String? { pcap_datalink_val_to_name(value).map { String(cString: $0) } }

    /// `pcap_datalink_val_to_description`.
    static func linkTypeDescription(_ value: Int32) -> String? {
        pcap_datalink_val_to_description(value).map { String(cString: $0) }
    }

    // MARK: Reading

    /// `pcap_next_ex` on a capture file: the next frame's header and bytes, or nil at the end.
    /// The bytes are libpcap's buffer, valid only until the next call on `handle`.
    static func next(
        _ handle: OpaquePointer, path: String
    ) throws(PcapError) -> (header: pcap_pkthdr, bytes: UnsafePointer<UInt8>)? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var bytes: UnsafePointer<UInt8>?
        switch pcap_next_ex(handle, &header, &bytes) {
        case 1:
            guard let header, let bytes else {
                throw PcapError(operation: "pcap_next_ex", path: path, message: "no packet returned")
            }
            return (header.pointee, bytes)
        case PCAP_ERROR_BREAK:  // End of a savefile.
            return nil
        case PCAP_ERROR:
            throw PcapError(operation: "pcap_next_ex", path: path, message: lastError(handle))
        case let other:  // 0 is a live-capture timeout; a file never returns it.
            throw PcapError(operation: "pcap_next_ex", path: path, message: "unexpected result \(other)")
        }
    }

    // MARK: Writing

    /// `pcap_dump_open`, or `pcap_dump_fopen` on a duplicate of standard output for `-`, so
    /// closing the dumper leaves the process's standard output open.
    static func openDump(_ handle: OpaquePointer, path: String) throws(PcapError) -> OpaquePointer {
        if path == "-" {
            let descriptor = dup(STDOUT_FILENO)
            guard descriptor >= 0 else {
                throw PcapError(operation: "dup", path: path, message: errnoText())
            }
            guard let file = fdopen(descriptor, "w") else {
                let message = errnoText()
                _ = closeDescriptor(descriptor)
                throw PcapError(operation: "fdopen", path: path, message: message)
            }
            guard let dumper = pcap_dump_fopen(handle, file) else {
                let message = lastError(handle)
                fclose(file)
                throw PcapError(operation: "pcap_dump_fopen", path: path, message: message)
            }
            return dumper
        }
        guard let dumper = pcap_dump_open(handle, path) else {
            throw PcapError(operation: "pcap_dump_open", path: path, message: lastError(handle))
        }
        return dumper
    }

    /// `pcap_dump`: appends one record. libpcap ignores `fwrite`'s result here; failures show
    /// in ``dumpCheckError(_:)`` and ``dumpFlush(_:path:)``.
    @inline(__always)
    static func dump(_ dumper: OpaquePointer, header: inout pcap_pkthdr, bytes: UnsafeRawPointer) {
        pcap_dump(UnsafeMutablePointer<UInt8>(dumper), &header, bytes.assumingMemoryBound(to: UInt8.self))
    }

    /// `pcap_dump_flush` (`fflush` of the file), then `ferror` for an earlier failed write.
    static func dumpFlush(_ dumper: OpaquePointer, path: String) throws(PcapError) {
        if pcap_dump_flush(dumper) != 0 {
            throw PcapError(operation: "pcap_dump_flush", path: path, message: errnoText())
        }
        try dumpCheckError(dumper, path: path)
    }

    /// `ferror` on the dumper's file: true once any write to it has failed.
    static func dumpCheckError(_ dumper: OpaquePointer, path: String) throws(PcapError) {
        if let file = pcap_dump_file(dumper), ferror(file) != 0 {
            throw PcapError(operation: "pcap_dump", path: path, message: "write to the capture file failed")
        }
    }

    /// `pcap_dump_close`. It returns nothing in libpcap 1.10: flush first to see errors.
    static func dumpClose(_ dumper: OpaquePointer) { pcap_dump_close(dumper) }

    /// `strerror(errno)`.
    private static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// `close(2)`, outside ``LibPcap`` whose `close` means `pcap_close`.
private func closeDescriptor(_ descriptor: Int32) -> Int32 { close(descriptor) }

extension PacketTimestamp.Precision {
    /// `PCAP_TSTAMP_PRECISION_MICRO` or `PCAP_TSTAMP_PRECISION_NANO`.
    var libpcapValue: UInt32 {
        switch self {
        case .microsecond: UInt32(PCAP_TSTAMP_PRECISION_MICRO)
        case .nanosecond: UInt32(PCAP_TSTAMP_PRECISION_NANO)
        }
    }
}

// MARK: - Live capture

/// The live-capture calls (`pcap_create` … `pcap_inject`) used by ``LiveCapture`` and the
/// naive forwarder. Each returns libpcap's status; ``LiveCapture`` turns failures into
/// ``LiveIOError`` naming the interface.
extension LibPcap {
    /// `pcap_create`: an inactive handle on `interface`, or libpcap's error text.
    package static func create(interface: String) -> Result<OpaquePointer, LiveIOError> {
        let (handle, message) = withErrorBuffer { errbuf in pcap_create(interface, errbuf) }
        guard let handle else {
            return .failure(LiveIOError(kind: .other, interface: interface, operation: "pcap_create", message: message))
        }
        return .success(handle)
    }

    /// `pcap_set_snaplen`; 0 or `PCAP_ERROR_ACTIVATED`.
    package static func setSnapshotLength(_ handle: OpaquePointer, _ bytes: Int32) -> Int32 {
        pcap_set_snaplen(handle, bytes)
    }

    /// `pcap_set_promisc`.
    package static func setPromiscuous(_ handle: OpaquePointer, _ on: Bool) -> Int32 {
        pcap_set_promisc(handle, on ? 1 : 0)
    }

    /// `pcap_set_immediate_mode`: deliver each frame as it arrives rather than per filled block.
    package static func setImmediateMode(_ handle: OpaquePointer, _ on: Bool) -> Int32 {
        pcap_set_immediate_mode(handle, on ? 1 : 0)
    }

    /// `pcap_set_buffer_size`, in bytes (the kernel ring of a TPACKET_V3 capture).
    package static func setBufferSize(_ handle: OpaquePointer, _ bytes: Int32) -> Int32 {
        pcap_set_buffer_size(handle, bytes)
    }

    /// `pcap_set_timeout`, in milliseconds (the block timeout when not in immediate mode).
    package static func setTimeout(_ handle: OpaquePointer, _ milliseconds: Int32) -> Int32 {
        pcap_set_timeout(handle, milliseconds)
    }

    /// `pcap_activate`: 0, a warning (> 0) or an error (< 0); text in ``lastError(_:)``.
    package static func activate(_ handle: OpaquePointer) -> Int32 { pcap_activate(handle) }

    /// `pcap_statustostr`: libpcap's name of a status code.
    static func statusText(_ status: Int32) -> String { String(cString: pcap_statustostr(status)) }

    /// `pcap_setdirection(PCAP_D_IN)`: see only frames received, not those sent on the interface.
    package static func setDirectionIn(_ handle: OpaquePointer) -> Int32 { pcap_setdirection(handle, PCAP_D_IN) }

    /// `pcap_setnonblock`: 0 or -1 with the text.
    package static func setNonblocking(_ handle: OpaquePointer, _ on: Bool) -> (status: Int32, message: String) {
        let (status, message) = withErrorBuffer { errbuf in pcap_setnonblock(handle, on ? 1 : 0, errbuf) }
        return (status, message)
    }

    /// `pcap_get_selectable_fd`: the descriptor to `poll`, or -1.
    package static func selectableDescriptor(_ handle: OpaquePointer) -> FileDescriptor? {
        let descriptor = pcap_get_selectable_fd(handle)
        return descriptor < 0 ? nil : FileDescriptor(rawValue: descriptor)
    }

    /// `pcap_fileno`: the capture's AF_PACKET socket.
    static func descriptor(_ handle: OpaquePointer) -> FileDescriptor? {
        let descriptor = pcap_fileno(handle)
        return descriptor < 0 ? nil : FileDescriptor(rawValue: descriptor)
    }

    /// `pcap_dispatch`: processes up to `count` frames (-1: one buffer's worth) through
    /// `callback`; the number processed, 0 when none were ready, or a negative status.
    @inline(__always)
    package static func dispatch(
        _ handle: OpaquePointer, count: Int32, callback: pcap_handler, user: UnsafeMutablePointer<UInt8>?
    ) -> Int32 {
        pcap_dispatch(handle, count, callback, user)
    }

    /// `pcap_breakloop`.
    static func breakLoop(_ handle: OpaquePointer) { pcap_breakloop(handle) }

    /// `pcap_stats`: frames received by the filter, dropped for lack of buffer space, and
    /// dropped by the interface; nil when unsupported.
    static func statistics(_ handle: OpaquePointer) -> (received: UInt32, dropped: UInt32, interfaceDropped: UInt32)? {
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return (stats.ps_recv, stats.ps_drop, stats.ps_ifdrop)
    }

    /// `pcap_compile` + `pcap_setfilter` (optimised, netmask unknown): 0, or -1 with the text.
    static func setFilter(_ handle: OpaquePointer, _ expression: String) -> (status: Int32, message: String) {
        var program = bpf_program()
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            return (-1, lastError(handle))
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else { return (-1, lastError(handle)) }
        return (0, "")
    }

    /// `pcap_inject`: one `send()` of one frame; the bytes written or -1.
    @inline(__always)
    package static func inject(_ handle: OpaquePointer, _ bytes: UnsafeRawPointer, _ length: Int) -> Int32 {
        pcap_inject(handle, bytes, length)
    }
}
