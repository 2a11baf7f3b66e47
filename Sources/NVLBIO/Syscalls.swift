import CNVLBShims

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Every system call NVLBIO (and the lab's host, `nvlb-hvhost`) makes outside libpcap, one
/// thin wrapper each (the layout of swift-system's `Internals/Syscalls.swift`): descriptors
/// in and out as ``FileDescriptor``, failures as ``Errno`` values (never a global `errno`
/// read later), and `EINTR` retried in one place, ``retryingOnInterrupt(_:)``.
///
/// Most wrap a `CNVLBShims` function, which returns -errno instead of setting `errno`
/// (``fromShim(_:)``); the others wrap a libc call that returns -1 and sets `errno`
/// (``fromLibc(_:)``). `package`: the lab's tools use them; the product API is the types
/// built on them (``LiveCapture``, ``BatchTransmitter``, ``PacketSocket``).
package enum Syscalls {
    // MARK: Results and EINTR

    /// Runs `call` again for as long as it fails with `EINTR`: the one place NVLBIO retries
    /// an interrupted call. `poll` is not retried (an interruption there means "wake up and
    /// look at the stop flags"), nor `close` (on Linux the descriptor is gone either way).
    @inlinable @inline(__always)
    package static func retryingOnInterrupt<T>(_ call: () -> Result<T, Errno>) -> Result<T, Errno> {
        while true {
            let result = call()
            if case .failure(let error) = result, error == .interrupted { continue }
            return result
        }
    }

    /// A shim's result: the value when non-negative, else the errno it negated.
    @inlinable @inline(__always)
    package static func fromShim<I: FixedWidthInteger & SignedInteger>(_ result: I) -> Result<I, Errno> {
        result >= 0 ? .success(result) : .failure(Errno(Int32(truncatingIfNeeded: -result)))
    }

    /// A libc call's result: the value when not -1, else the calling thread's `errno`.
    @inlinable @inline(__always)
    package static func fromLibc<I: FixedWidthInteger & SignedInteger>(_ result: I) -> Result<I, Errno> {
        result >= 0 ? .success(result) : .failure(.current)
    }

    /// nil for success, the error otherwise: for calls whose value is only 0.
    @inlinable @inline(__always)
    static func failure<T>(_ result: Result<T, Errno>) -> Errno? {
        if case .failure(let error) = result { return error }
        return nil
    }

    // MARK: Interfaces and packet sockets

    /// `if_nametoindex`: the index of `interface` in the calling thread's network namespace.
    ///
    /// - Throws: ``LiveIOError`` of kind ``LiveIOError/Kind/noSuchDevice`` naming the interface
    ///   (the one failure this call has).
    package static func interfaceIndex(_ interface: String) throws(LiveIOError) -> Int32 {
        let index = nvlb_interface_index(interface)
        guard index != 0 else {
            throw LiveIOError(
                kind: .noSuchDevice, interface: interface, operation: "if_nametoindex", message: "No such device")
        }
        return Int32(bitPattern: index)
    }

    /// A send-only AF_PACKET raw socket bound to `interfaceIndex` (protocol 0: receives nothing).
    package static func openSendSocket(interfaceIndex: Int32) -> Result<FileDescriptor, Errno> {
        retryingOnInterrupt { fromShim(nvlb_packet_socket_open(interfaceIndex)) }.map(FileDescriptor.init)
    }

    /// An AF_PACKET raw socket bound to `interfaceIndex` for every EtherType: sends and receives.
    package static func openReceivingSocket(interfaceIndex: Int32) -> Result<FileDescriptor, Errno> {
        retryingOnInterrupt { fromShim(nvlb_packet_socket_open_receiving(interfaceIndex)) }.map(FileDescriptor.init)
    }

    /// `PACKET_ADD_MEMBERSHIP` with `PACKET_MR_PROMISC` on `interfaceIndex`.
    package static func addPromiscuousMembership(_ descriptor: FileDescriptor, interfaceIndex: Int32) -> Errno? {
        failure(fromShim(nvlb_packet_socket_add_promiscuous(descriptor.rawValue, interfaceIndex)))
    }

    /// `PACKET_IGNORE_OUTGOING` (Linux ≥ 4.20; ``Errno/optionNotSupported`` before).
    package static func ignoreOutgoing(_ descriptor: FileDescriptor) -> Errno? {
        failure(fromShim(nvlb_packet_socket_ignore_outgoing(descriptor.rawValue)))
    }

    /// `PACKET_QDISC_BYPASS`.
    package static func setQdiscBypass(_ descriptor: FileDescriptor, _ on: Bool) -> Errno? {
        failure(fromShim(nvlb_packet_socket_set_qdisc_bypass(descriptor.rawValue, on ? 1 : 0)))
    }

    /// `SO_SNDBUF`, or `SO_SNDBUFFORCE` (root: beyond `wmem_max`).
    package static func setSendBuffer(_ descriptor: FileDescriptor, bytes: Int32, force: Bool) -> Errno? {
        failure(fromShim(nvlb_socket_set_send_buffer(descriptor.rawValue, bytes, force ? 1 : 0)))
    }

    /// `SO_RCVBUF`.
    package static func setReceiveBuffer(_ descriptor: FileDescriptor, bytes: Int32) -> Errno? {
        failure(fromShim(nvlb_socket_set_receive_buffer(descriptor.rawValue, bytes)))
    }

    /// `setsockopt(SOL_PACKET, PACKET_FANOUT, id | (mode | flags) << 16)`.
    package static func joinFanout(_ descriptor: FileDescriptor, _ fanout: PacketFanout) -> Errno? {
        failure(
            fromShim(nvlb_packet_fanout_join(descriptor.rawValue, fanout.groupID, fanout.mode.rawValue, fanout.flags)))
    }

    /// `sendmmsg(fd, messages, count, flags)`: frames sent (a prefix of the batch), or errno.
    @inline(__always)
    package static func sendMultiple(
        _ descriptor: FileDescriptor, _ messages: UnsafeMutablePointer<nvlb_mmsghdr>, _ count: Int, flags: Int32
    ) -> Result<Int, Errno> {
        retryingOnInterrupt {
            fromShim(Int(nvlb_sendmmsg(descriptor.rawValue, messages, UInt32(truncatingIfNeeded: count), flags)))
        }
    }

    /// `MSG_DONTWAIT`.
    package static let dontWait: Int32 = nvlb_msg_dontwait()

    /// `send(fd, bytes, 0)`: bytes sent, or errno.
    package static func send(_ descriptor: FileDescriptor, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        retryingOnInterrupt { fromLibc(Glibc.send(descriptor.rawValue, bytes.baseAddress, bytes.count, 0)) }
    }

    /// `recvfrom(MSG_DONTWAIT | MSG_TRUNC)` of one frame into `buffer`: its length on the wire
    /// (above `buffer.count` when truncated) and its `sll_pkttype`, or errno (``Errno/wouldBlock``
    /// when nothing is waiting).
    package static func receivePacket(
        _ descriptor: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer
    ) -> Result<(length: Int, packetType: Int32), Errno> {
        var packetType: Int32 = 0
        return retryingOnInterrupt {
            fromShim(nvlb_packet_receive(descriptor.rawValue, buffer.baseAddress, buffer.count, &packetType))
        }.map { (Int($0), packetType) }
    }

    // MARK: Waiting

    /// `poll` over `entries` for at most `timeoutMilliseconds`: the number of entries with
    /// events (0 on timeout and when a signal interrupted the wait, so that the caller looks
    /// at its stop flags), or errno.
    package static func poll(
        _ entries: UnsafeMutableBufferPointer<pollfd>, timeoutMilliseconds: Int32
    ) -> Result<Int, Errno> {
        let result = fromLibc(Glibc.poll(entries.baseAddress, nfds_t(entries.count), timeoutMilliseconds))
        if case .failure(let error) = result, error == .interrupted { return .success(0) }
        return result.map(Int.init)
    }

    /// `poll` on one descriptor for `events`; true when ready, false on timeout or interruption.
    package static func poll(
        _ descriptor: FileDescriptor, events: Int16, timeoutMilliseconds: Int32
    ) -> Result<Bool, Errno> {
        var entry = pollfd(fd: descriptor.rawValue, events: events, revents: 0)
        return withUnsafeMutablePointer(to: &entry) { pointer in
            poll(UnsafeMutableBufferPointer(start: pointer, count: 1), timeoutMilliseconds: timeoutMilliseconds)
                .map { $0 > 0 }
        }
    }

    // MARK: Files, namespaces, control sockets

    /// `setns(fd, CLONE_NEWNET)` for the calling thread.
    package static func enterNetworkNamespace(_ descriptor: FileDescriptor) -> Errno? {
        failure(fromShim(nvlb_enter_network_namespace(descriptor.rawValue)))
    }

    /// `open(path, O_RDONLY | O_CLOEXEC)`.
    package static func openReadOnly(_ path: String) -> Result<FileDescriptor, Errno> {
        open(path, O_RDONLY | O_CLOEXEC)
    }

    /// `open(path, flags, mode)`; `mode` applies when `flags` has `O_CREAT`.
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0) -> Result<FileDescriptor, Errno> {
        retryingOnInterrupt { fromLibc(Glibc.open(path, flags, mode)) }.map(FileDescriptor.init)
    }

    /// `pipe(2)`: the read and the write end, both blocking and inherited across `exec`.
    package static func pipe() -> Result<(read: FileDescriptor, write: FileDescriptor), Errno> {
        var ends: [Int32] = [-1, -1]
        return fromLibc(Glibc.pipe(&ends)).map { _ in
            (FileDescriptor(rawValue: ends[0]), FileDescriptor(rawValue: ends[1]))
        }
    }

    /// `fcntl(F_SETFD, FD_CLOEXEC)`: closed across `exec`.
    package static func setCloseOnExec(_ descriptor: FileDescriptor) -> Errno? {
        failure(retryingOnInterrupt { fromLibc(fcntl(descriptor.rawValue, F_SETFD, FD_CLOEXEC)) })
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`: reads and writes return ``Errno/wouldBlock`` instead of waiting.
    package static func setNonBlocking(_ descriptor: FileDescriptor) -> Errno? {
        failure(retryingOnInterrupt { fromLibc(fcntl(descriptor.rawValue, F_SETFL, O_NONBLOCK)) })
    }

    /// `fsync(2)`.
    package static func fsync(_ descriptor: FileDescriptor) -> Errno? {
        failure(retryingOnInterrupt { fromLibc(Glibc.fsync(descriptor.rawValue)) })
    }

    /// `fchmod(2)`.
    package static func fchmod(_ descriptor: FileDescriptor, _ mode: mode_t) -> Errno? {
        failure(retryingOnInterrupt { fromLibc(Glibc.fchmod(descriptor.rawValue, mode)) })
    }

    /// `socket(domain, type | SOCK_CLOEXEC, 0)`.
    package static func socket(domain: Int32, type: Int32) -> Result<FileDescriptor, Errno> {
        fromLibc(Glibc.socket(domain, type | Int32(SOCK_CLOEXEC.rawValue), 0)).map(FileDescriptor.init)
    }

    /// `ioctl(fd, request, argument)`.
    package static func ioctl(_ descriptor: FileDescriptor, _ request: UInt, _ argument: UnsafeMutableRawPointer)
        -> Errno?
    {
        failure(retryingOnInterrupt { fromLibc(Glibc.ioctl(descriptor.rawValue, request, argument)) })
    }

    /// `close(2)`; not retried (Linux releases the descriptor even when interrupted).
    package static func close(_ descriptor: FileDescriptor) { _ = Glibc.close(descriptor.rawValue) }

    /// `read(2)` into `buffer`: bytes read (0 at the end), or errno.
    package static func read(_ descriptor: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer)
        -> Result<Int, Errno>
    {
        retryingOnInterrupt { fromLibc(Glibc.read(descriptor.rawValue, buffer.baseAddress, buffer.count)) }
    }

    /// `write(2)` of `bytes`: bytes written (possibly fewer than `bytes.count`), or errno.
    package static func write(_ descriptor: FileDescriptor, _ bytes: UnsafeRawBufferPointer) -> Result<Int, Errno> {
        retryingOnInterrupt { fromLibc(Glibc.write(descriptor.rawValue, bytes.baseAddress, bytes.count)) }
    }

    /// Writes all of `bytes`, calling `write(2)` again after a short write; nil when done.
    package static func writeAll(_ descriptor: FileDescriptor, _ bytes: UnsafeRawBufferPointer) -> Errno? {
        var written = 0
        while written < bytes.count {
            switch write(descriptor, UnsafeRawBufferPointer(rebasing: bytes[written...])) {
            case .success(let count): written += count
            case .failure(let error): return error
            }
        }
        return nil
    }

    /// `nanosleep(2)` for `duration`, sleeping the rest again when a signal interrupts it.
    package static func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var remaining = timespec()
        _ = retryingOnInterrupt {
            let result = fromLibc(nanosleep(&request, &remaining))
            request = remaining
            return result
        }
    }

    /// The whole (small, procfs) file at `path`.
    package static func readFile(_ path: String) -> Result<[UInt8], Errno> {
        let descriptor: FileDescriptor
        switch openReadOnly(path) {
        case .success(let value): descriptor = value
        case .failure(let error): return .failure(error)
        }
        defer { close(descriptor) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            switch chunk.withUnsafeMutableBytes({ read(descriptor, into: $0) }) {
            case .failure(let error): return .failure(error)
            case .success(0): return .success(contents)
            case .success(let count): contents.append(contentsOf: chunk[0..<count])
            }
        }
    }
}
