import CNVLBShims
import NVLBWire

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
    /// True when the socket finishes the offloads senders left pending (`PACKET_VNET_HDR`).
    public let finishesOffloads: Bool
    /// A super-frame being handed out segment by segment (``finishesOffloads`` only).
    private var superframe: UnsafeMutableRawPointer? = nil
    private var pending: ReceiveOffloads.Superframe? = nil
    private var nextSegment = 0
    /// True while segments of a received super-frame wait to be handed out: receive again
    /// without waiting for the socket to be readable.
    public var hasPendingSegments: Bool { pending != nil }
    /// Super-frames dropped because their kind is not segmented (UFO, IPv6, GRE).
    public private(set) var unsupportedSuperframes = 0

    /// Opens a socket on `interface` (which must exist in the calling thread's network
    /// namespace), promiscuous, with a receive buffer of `receiveBufferBytes`.
    ///
    /// With `finishingOffloads`, frames a sender on a virtual link left with a partial
    /// checksum are completed and its TCP/UDP super-frames cut into segments, as
    /// ``LinkCapture`` does (docs/packets.md "Frames from virtual links"): what a switch
    /// port facing a VM needs.
    ///
    /// - Throws: ``LiveIOError`` naming the interface and the call that failed.
    public init(
        interface: String, receiveBufferBytes: Int32 = 4 << 20, finishingOffloads: Bool = false
    ) throws(LiveIOError) {
        let index = try Syscalls.interfaceIndex(interface)
        let descriptor =
            try
            (finishingOffloads
            ? Syscalls.fromShim(nvlb_packet_socket_open_vnet(index)).map(FileDescriptor.init)
            : Syscalls.openReceivingSocket(interfaceIndex: index))
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
        self.finishesOffloads = finishingOffloads
    }

    deinit {
        Syscalls.close(descriptor)
        superframe?.deallocate()
    }

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
        if finishesOffloads { return try receiveFinishing(into: buffer) }
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
        let result =
            finishesOffloads
            ? Syscalls.retryingOnInterrupt {
                Syscalls.fromShim(Int(nvlb_packet_send_vnet(descriptor.rawValue, frame.baseAddress, frame.count)))
            }
            : Syscalls.send(descriptor, frame)
        switch result {
        case .success(frame.count): return
        case .success(let count):
            throw LiveIOError(
                kind: .other, interface: interface, operation: "send",
                message: "sent \(count) of \(frame.count) bytes")
        case .failure(let error): throw LiveIOError(error, interface: interface, operation: "send")
        }
    }

    /// ``receive(into:)`` of a `PACKET_VNET_HDR` socket: the next segment of a super-frame
    /// if one is pending, else the next frame with its partial checksum completed, or the
    /// first segment of a super-frame.
    private func receiveFinishing(into buffer: UnsafeMutableRawBufferPointer) throws(LiveIOError) -> Received {
        guard let base = buffer.baseAddress, buffer.count >= 64 else { return .empty }
        if let geometry = pending, let superframe {
            let length = ReceiveOffloads.writeSegment(nextSegment, of: geometry, from: superframe, into: base)
            nextSegment += 1
            if nextSegment == geometry.segmentCount { pending = nil }
            return .frame(count: length)
        }
        var header = nvlb_vnet_header()
        var packetType: Int32 = 0
        var vlan: UInt32 = 0
        while true {
            let room = buffer.count - 4
            let result = nvlb_packet_receive_vnet(
                descriptor.rawValue, &header, base, room, nil, 0, &packetType, &vlan)
            if result < 0 {
                let error = Errno(Int32(truncatingIfNeeded: -result))
                if error == .wouldBlock { return .empty }
                if error == .interrupted { continue }
                if error == .invalidArgument {
                    unsupportedSuperframes += 1
                    continue
                }
                throw LiveIOError(error, interface: interface, operation: "recvmsg")
            }
            if packetType == Int32(NVLB_PACKET_OUTGOING) { return .outgoing }
            if result > room { return .truncated(length: result) }
            var length = result
            var checksumStart = Int(header.csum_start)
            if vlan != 0 {
                LinkCapture.insertTag(vlan, at: base, frameLength: length)
                length += 4
                checksumStart += 4
            }
            let gsoType = Int32(header.gso_type & ~UInt8(NVLB_VNET_GSO_ECN))
            if gsoType == Int32(NVLB_VNET_GSO_NONE) {
                if header.flags & UInt8(NVLB_VNET_NEEDS_CSUM) != 0 {
                    _ = ReceiveOffloads.completeChecksum(
                        base, length: LinkCapture.packetEnd(base, length: length), start: checksumStart,
                        offset: Int(header.csum_offset))
                }
                return .frame(count: length)
            }
            let l3 = LinkCapture.networkOffset(base, length: length)
            let geometry: ReceiveOffloads.Superframe? =
                switch gsoType {
                case Int32(NVLB_VNET_GSO_TCPV4):
                    ReceiveOffloads.tcp(base, length: length, networkOffset: l3, segmentSize: Int(header.gso_size))
                case Int32(NVLB_VNET_GSO_UDP_L4):
                    ReceiveOffloads.udp(base, length: length, networkOffset: l3, segmentSize: Int(header.gso_size))
                default: nil
                }
            guard let geometry, geometry.maximumSegmentLength <= buffer.count else {
                unsupportedSuperframes += 1
                continue
            }
            let copy =
                superframe ?? UnsafeMutableRawPointer.allocate(byteCount: LinkCapture.superframeCapacity, alignment: 64)
            superframe = copy
            copy.copyMemory(from: base, byteCount: length)
            pending = geometry
            nextSegment = 0
            return try receiveFinishing(into: buffer)
        }
    }
}
