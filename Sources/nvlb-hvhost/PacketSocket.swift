import Glibc

/// An error of a system call, with the call's name and `errno`.
struct SystemCallError: Error, CustomStringConvertible {
    var call: String
    var errno: Int32

    init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    var description: String { "\(call): \(String(cString: strerror(errno)))" }
}

/// A Linux `AF_PACKET`/`SOCK_RAW` socket bound to one interface: whole Ethernet frames in
/// and out, every EtherType, promiscuous.
///
/// `Glibc` does not import `<netpacket/packet.h>`, so `struct sockaddr_ll` (20 bytes) and
/// `struct packet_mreq` (16 bytes) are written byte by byte at their kernel ABI offsets, and
/// the few constants are spelled out below. Frames this socket sends itself come back as
/// `PACKET_OUTGOING` and are skipped.
final class PacketSocket {
    // <linux/if_ether.h>, <linux/if_packet.h>, <bits/socket.h>
    private static let ethPAll: UInt16 = 0x0003
    private static let solPacket: Int32 = 263
    private static let packetAddMembership: Int32 = 1
    private static let packetMRPromisc: UInt16 = 1
    private static let packetIgnoreOutgoing: Int32 = 23
    private static let packetOutgoing: UInt8 = 4
    private static let sockaddrLLSize = 20

    /// The descriptor, for `poll`.
    let descriptor: Int32
    /// The interface name.
    let interfaceName: String
    /// The interface index.
    let interfaceIndex: Int32

    /// Opens a socket on `interfaceName` (which must exist in the caller's network namespace).
    ///
    /// The socket is created with protocol 0 (it receives nothing) and starts receiving only
    /// once bound to the interface, so no frame of another interface can slip in between.
    init(interface interfaceName: String, receiveBufferBytes: Int32 = 4 << 20) throws {
        let index = if_nametoindex(interfaceName)
        guard index != 0 else { throw SystemCallError("if_nametoindex(\(interfaceName))") }
        let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemCallError("socket(AF_PACKET)") }
        self.descriptor = fd
        self.interfaceName = interfaceName
        self.interfaceIndex = Int32(index)

        var address = [UInt8](repeating: 0, count: Self.sockaddrLLSize)
        address.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: UInt16(AF_PACKET), toByteOffset: 0, as: UInt16.self)  // sll_family
            raw.storeBytes(of: Self.ethPAll.bigEndian, toByteOffset: 2, as: UInt16.self)  // sll_protocol
            raw.storeBytes(of: Int32(index), toByteOffset: 4, as: Int32.self)  // sll_ifindex
        }
        let bound = address.withUnsafeBytes { raw in
            bind(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(Self.sockaddrLLSize))
        }
        guard bound == 0 else {
            let error = SystemCallError("bind(\(interfaceName))")
            close(fd)
            throw error
        }

        var membership = [UInt8](repeating: 0, count: 16)
        membership.withUnsafeMutableBytes { raw in
            raw.storeBytes(of: Int32(index), toByteOffset: 0, as: Int32.self)  // mr_ifindex
            raw.storeBytes(of: Self.packetMRPromisc, toByteOffset: 4, as: UInt16.self)  // mr_type
        }
        let promiscuous = membership.withUnsafeBytes { raw in
            setsockopt(fd, Self.solPacket, Self.packetAddMembership, raw.baseAddress, socklen_t(raw.count))
        }
        guard promiscuous == 0 else {
            let error = SystemCallError("setsockopt(PACKET_ADD_MEMBERSHIP, \(interfaceName))")
            close(fd)
            throw error
        }
        // Best effort (Linux ≥ 4.20); outgoing frames are filtered by packet type anyway.
        var one: Int32 = 1
        _ = setsockopt(fd, Self.solPacket, Self.packetIgnoreOutgoing, &one, socklen_t(MemoryLayout<Int32>.size))
        var size = receiveBufferBytes
        _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(descriptor) }

    /// The outcome of one non-blocking receive.
    enum Received {
        /// A frame of `count` bytes at the start of the buffer.
        case frame(count: Int)
        /// A frame longer than the buffer (its real length); the bytes are lost.
        case truncated(length: Int)
        /// A frame this socket (or another on the interface) sent: not a received frame.
        case outgoing
        /// Nothing to read.
        case empty
    }

    /// Receives one frame into `buffer` without blocking.
    func receive(into buffer: UnsafeMutableRawBufferPointer) throws -> Received {
        var address = [UInt8](repeating: 0, count: Self.sockaddrLLSize)
        var length = socklen_t(Self.sockaddrLLSize)
        let count = address.withUnsafeMutableBytes { raw in
            recvfrom(
                descriptor, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT) | Int32(MSG_TRUNC),
                raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), &length)
        }
        if count < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return .empty }
            throw SystemCallError("recvfrom(\(interfaceName))")
        }
        if address[10] == Self.packetOutgoing { return .outgoing }  // sll_pkttype
        if count > buffer.count { return .truncated(length: count) }
        return .frame(count: count)
    }

    /// Sends one whole Ethernet frame; false (with `errno`) when the kernel refused it.
    func send(_ frame: [UInt8]) -> Bool {
        frame.withUnsafeBytes { raw in Glibc.send(descriptor, raw.baseAddress, raw.count, 0) } == frame.count
    }
}
