import CNVLBShims

/// A Linux `AF_PACKET`/`SOCK_RAW` socket bound to one interface: whole Ethernet frames of
/// every EtherType in and out, one at a time, the interface promiscuous while it is open.
///
/// For a user-space switch that owns an interface (the lab's Hyper-V host); nvlb's workers
/// receive with ``LiveCapture`` and send with ``BatchTransmitter`` instead. Frames a socket
/// on the interface sent come back as ``Received/outgoing`` where the kernel does not filter
/// them (`PACKET_IGNORE_OUTGOING` needs Linux ≥ 4.20). A class: an event loop keeps several
/// in an array; `deinit` closes the descriptor.
public final class PacketSocket {
    /// The descriptor, for `poll`.
    public let descriptor: FileDescriptor
    /// The interface name.
    public let interface: String
    /// The interface index.
    public let interfaceIndex: Int32

    /// Opens a socket on `interface` (which must exist in the calling thread's network
    /// namespace), promiscuous, with a receive buffer of `receiveBufferBytes`.
    ///
    /// - Throws: ``LiveIOError`` naming the interface and the call that failed.
    public init(interface: String, receiveBufferBytes: Int32 = 4 << 20) throws(LiveIOError) {
        let index = try Syscalls.interfaceIndex(interface)
        let descriptor = try Syscalls.openReceivingSocket(interfaceIndex: index)
            .get(interface: interface, operation: "socket(AF_PACKET, SOCK_RAW)")
        if let error = Syscalls.addPromiscuousMembership(descriptor, interfaceIndex: index) {
            Syscalls.close(descriptor)
            throw LiveIOError(error, interface: interface, operation: "setsockopt(PACKET_ADD_MEMBERSHIP)")
        }
        // Best effort: outgoing frames are recognised by their packet type anyway.
        _ = Syscalls.ignoreOutgoing(descriptor)
        _ = Syscalls.setReceiveBuffer(descriptor, bytes: receiveBufferBytes)
        self.descriptor = descriptor
        self.interface = interface
        self.interfaceIndex = index
    }

    deinit { Syscalls.close(descriptor) }

    /// The outcome of one non-blocking receive.
    public enum Received: Hashable, Sendable {
        /// A frame of `count` bytes at the start of the buffer.
        case frame(count: Int)
        /// A frame longer than the buffer (its real length); the bytes are lost.
        case truncated(length: Int)
        /// A frame this host sent (`PACKET_OUTGOING`): not a received frame.
        case outgoing
        /// Nothing to read.
        case empty
    }

    /// Receives one frame into `buffer` without blocking.
    ///
    /// - Throws: ``LiveIOError`` when the kernel reports an error (the interface went away).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(LiveIOError) -> Received {
        switch Syscalls.receivePacket(descriptor, into: buffer) {
        case .failure(let error) where error == .wouldBlock: return .empty
        case .failure(let error): throw LiveIOError(error, interface: interface, operation: "recvfrom")
        case .success(let received):
            if received.packetType == Int32(NVLB_PACKET_OUTGOING) { return .outgoing }
            if received.length > buffer.count { return .truncated(length: received.length) }
            return .frame(count: received.length)
        }
    }

    /// Sends one whole Ethernet frame.
    ///
    /// - Throws: ``LiveIOError`` when the kernel refused it (or sent only part of it).
    public func send(_ frame: UnsafeRawBufferPointer) throws(LiveIOError) {
        switch Syscalls.send(descriptor, frame) {
        case .success(frame.count): return
        case .success(let count):
            throw LiveIOError(
                kind: .other, interface: interface, operation: "send",
                message: "sent \(count) of \(frame.count) bytes")
        case .failure(let error): throw LiveIOError(error, interface: interface, operation: "send")
        }
    }
}
